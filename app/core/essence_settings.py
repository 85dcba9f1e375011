"""The interpretable network's construction constants and its refusals, in a module of their own so that the
construction (essence_build) and the network (essence) share them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PER_CLASS = 8000  # refused above: a Ward clustering of a class holds n^2/2 distances (256 MB at 8,000)


class EssenceError(ValueError):
    """Samples the interpretable network cannot be built for; the message is meant for the user."""


@dataclass(frozen=True)
class EssenceSettings:
    """The constants of the construction. The defaults are the Lin lab's (enn/learnBoundaries.py and
    train_full_enn's check_parameters in github.com/jre411/bdENN; their names in brackets)."""

    m1: float = 8.0  # steepness of the differentia neurons, d = tanh(m1 * (w.x + b)) [svm_multiplier_1]
    m2: float = 8.0  # steepness of the subconcept neurons, s = tanh(m2 * (v.d + c)) [svm_multiplier_2]
    c1: float = 15.0  # SVM regularisation C of the differentia (first) layer [svm_cost_1]
    c2: float = 1000.0  # SVM regularisation C of the subconcept (second) layer [svm_cost_2]
    tune_concepts: bool = True  # their concept layer: SVMs, then gradient descent; False: fixed weights
    concept_weight: float = (
        10.0  # fixed weights: from a subconcept's firing strength (s + 1) / 2 to its class
    )
    concept_bias: float = -5.0  # fixed weights: the bias of every concept neuron
    split_tolerance: float = 0.02  # automatic subconcepts: split until no pair's balanced error is higher
    max_subconcepts: int = 30  # automatic subconcepts: and stop at this many
    standardize_inputs: bool = False  # fit on each axis shifted to mean 0, scaled to spread 1 [the same]
