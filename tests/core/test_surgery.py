"""Neuron surgery's arithmetic (issue 25): a neuron switched off contributes nothing downstream, and the
network then predicts exactly what the network without that neuron predicts; its weights come back on."""

import numpy as np
import pytest

from app.core.dataset import make_preset
from app.core.history import TrainingHistory
from app.core.network import NetworkSpec, pre_activations, split_params
from app.core.surgery import is_off, outgoing_weights, with_outgoing_weights
from app.core.training import EpochChunk


def without_neuron(spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int):
    """The network with hidden neuron (layer, neuron) deleted: its row in layer's (W, b) and its column in
    the next layer's W removed."""
    layers = [(w.copy(), b.copy()) for w, b in split_params(spec, params)]
    w, b = layers[layer]
    layers[layer] = (np.delete(w, neuron, axis=0), np.delete(b, neuron))
    layers[layer + 1] = (np.delete(layers[layer + 1][0], neuron, axis=1), layers[layer + 1][1])
    widths = list(spec.widths)
    widths[layer] -= 1
    smaller = NetworkSpec(tuple(widths), spec.activation, spec.classes)
    return smaller, np.concatenate([np.concatenate([w.ravel(), b]) for w, b in layers])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize(("widths", "classes", "layer", "neuron"), [((4, 4), 2, 0, 2), ((5, 3), 3, 1, 0)])
def test_a_neuron_switched_off_is_the_network_without_it(activation, widths, classes, layer, neuron):
    spec = NetworkSpec(widths, activation, classes)
    params = np.random.default_rng(7).normal(size=spec.n_params)
    off = with_outgoing_weights(spec, params, layer, neuron, 0.0)
    assert is_off(spec, off, layer, neuron) and not is_off(spec, params, layer, neuron)
    assert not np.shares_memory(off, params)
    points = make_preset("moons").points
    z = pre_activations(spec, off, points)
    smaller, reduced = without_neuron(spec, params, layer, neuron)
    np.testing.assert_allclose(z[-1], pre_activations(smaller, reduced, points)[-1], rtol=0, atol=1e-12)
    # Its own line is unchanged (its incoming weights), and its weights come back when switched on.
    np.testing.assert_array_equal(split_params(spec, off)[layer][0], split_params(spec, params)[layer][0])
    back = with_outgoing_weights(spec, off, layer, neuron, outgoing_weights(spec, params, layer, neuron))
    np.testing.assert_array_equal(back, params)
    with pytest.raises(ValueError, match="no hidden neuron L3 N1"):
        outgoing_weights(spec, params, 2, 0)


def test_a_history_branches_at_an_epoch_with_the_rows_and_marks_up_to_it():
    spec = NetworkSpec((3,))
    history = TrainingHistory(spec, np.zeros(spec.n_params), 0.7, 0.5)
    params = np.arange(10 * spec.n_params, dtype=float).reshape(10, spec.n_params)
    history.append(EpochChunk(1, params, np.linspace(0.6, 0.1, 10), np.full(10, 0.9), 0))
    history.mark_data_change(4)
    history.mark_data_change(8)
    branch = history.branch(6)
    assert branch.latest_epoch == 6 and branch.data_changes == [4] and history.latest_epoch == 10
    np.testing.assert_array_equal(branch.params_at(6), history.params_at(6))
    branch.append(EpochChunk(7, params[:1] * 0, np.array([0.3]), np.array([1.0]), 1))
    assert branch.latest_epoch == 7 and history.params_at(7).any()  # the original is untouched


def test_dragging_a_lines_handles_gives_the_line_through_the_new_handle_points():
    from app.core.surgery import line_through, with_first_layer_line

    w_old, b_old = np.array([2.0, 0.0]), 0.0  # the line x = 0, active (w.x + b > 0) where x > 0
    w, b = line_through((1.0, 0.0), (1.0, 1.0), w_old, b_old)  # moved to x = 1
    np.testing.assert_allclose([*w, b], [2.0, 0.0, -2.0], atol=1e-15)
    assert w @ (3.0, 0.0) + b > 0 and w @ (0.5, 0.0) + b < 0  # passed over x = 0.5, not over x = 3
    rng = np.random.default_rng(3)
    for _ in range(200):
        p, q, w_old = rng.normal(size=(3, 2)) * 3
        b_old = rng.normal()
        w, b = line_through(p, q, w_old, b_old)
        assert abs(w @ p + b) < 1e-9 and abs(w @ q + b) < 1e-9  # through both handle points
        assert np.isclose(np.linalg.norm(w), np.linalg.norm(w_old))  # the same length
        assert w @ w_old >= 0  # the direction nearer the old one
        # Up to scale: the same line as the one through p and q by the textbook formula.
        textbook = np.array([p[1] - q[1], q[0] - p[0], p[0] * q[1] - q[0] * p[1]])
        ours = np.array([*w, b])
        np.testing.assert_allclose(np.cross(ours, textbook), 0, atol=1e-9 * np.abs(textbook).max() * 10)
    # Moved and turned a little (x = 0 to the line through (0.2, -1) and (0.3, 1)): samples it did not pass
    # over keep their sides; rotated the other way round, the same.
    for p, q in (((0.2, -1.0), (0.3, 1.0)), ((0.3, 1.0), (0.2, -1.0))):
        w, b = line_through(p, q, np.array([2.0, 0.0]), 0.0)
        assert w @ (5.0, 0.0) + b > 0 and w @ (-5.0, 0.0) + b < 0 and np.isclose(np.linalg.norm(w), 2.0)
    # Turned a right angle (y = 1, active above, to x = 0.5): the old line's point one unit along w_old,
    # (0, 2), stays active.
    w, b = line_through((0.5, 0.0), (0.5, 1.0), np.array([0.0, 1.0]), -1.0)
    np.testing.assert_allclose([*w, b], [-1.0, 0.0, 0.5], atol=1e-15)
    with pytest.raises(ValueError, match="coincide"):
        line_through((1.0, 2.0), (1.0, 2.0), w_old, b_old)
    spec = NetworkSpec((3, 2))
    params = np.arange(spec.n_params, dtype=float)
    edited = with_first_layer_line(spec, params, 1, [5.0, 6.0], 7.0)
    (weights, biases), *_ = split_params(spec, edited)
    assert weights[1].tolist() == [5.0, 6.0] and biases[1] == 7.0
    assert np.count_nonzero(edited != params) <= 3 and not np.shares_memory(edited, params)


def test_a_neurons_incoming_weights_and_bias_are_replaced_and_checked():
    from app.core.surgery import incoming, with_incoming

    spec = NetworkSpec((3, 2))
    params = np.random.default_rng(2).normal(size=spec.n_params)
    edited = with_incoming(spec, params, 1, 1, [1.0, 2.0, 3.0], -4.0)
    w, b = incoming(spec, edited, 1, 1)
    np.testing.assert_array_equal(w, [1.0, 2.0, 3.0])
    assert b == -4.0 and np.count_nonzero(edited != params) <= 4 and incoming(spec, params, 1, 1)[1] != b
    with pytest.raises(ValueError, match="L2 N2 takes 3 finite weights"):
        with_incoming(spec, params, 1, 1, [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="finite"):
        with_incoming(spec, params, 1, 1, [1.0, np.nan, 2.0], 0.0)
