"""A plain port of the Lin lab's Essence Neural Network construction, kept as a test reference (the app never
imports it): github.com/jre411/bdENN, commit be96e7c, files enn/train_enn.py (train_full_enn and the
functions inside it), enn/enn_svm.py (SVM), enn/layer.py (Layer) and the parameters of enn/learnBoundaries.py.

Only the branches that the parameters of learnBoundaries.set_parameters_explicit (with train_full_enn's
check_parameters defaults for the keys it does not set) reach for one label a sample, of any number of
classes (their parameters['classes'] = np.unique(y_train)), are ported: no convolution, cross-validation,
grid search, parallel pool, pruning (margin_ratio = inf), symbolic weights, strictness, hierarchy or
multi-label. Their code is followed step for step, including its quirks, each marked "(sic)";
`alternative` selects their `alternative_subclasses` (0: Ward with a fixed total, 1:
get_subclasses_alternative_old, 2: Ward, searching the total). Two branches that draw random numbers are
refused instead (see AuthorsRandomBranch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.cluster.hierarchy
from sklearn import svm as sk_svm

SVM_COST_1 = 15.0  # learnBoundaries: 'svm_cost_1'
SVM_COST_2 = 1000.0  # 'svm_cost_2'
SVM_MULTIPLIER_1 = 8.0  # 'svm_multiplier_1'
SVM_MULTIPLIER_2 = 8.0  # 'svm_multiplier_2'
CONCEPT_CERTAINTY = 1.0  # 'concept_certainty'
NUM_EPOCHS = 30000  # get_concept_layer


class AuthorsRandomBranch(RuntimeError):
    """Their code would draw random numbers here (np.random / random); not needed on the presets."""


@dataclass
class Svm:
    """enn_svm.SVM after train(): weights, bias, margin, and (kept meta data) the support vectors."""

    weights: np.ndarray
    bias: float
    margin: float
    support: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # rows of its x_train
    dual: np.ndarray = field(default_factory=lambda: np.empty(0))  # the SVC's dual_coef_ for them


def tanh(nodes: np.ndarray) -> np.ndarray:
    """Layer.activation for 'tanh', as they write it."""
    with np.errstate(over="ignore"):
        return -1 + 2 / (1 + np.exp(-2 * nodes))


def softmax(nodes: np.ndarray) -> np.ndarray:
    """Layer.activation for 'softmax'."""
    nodes = nodes - np.tile(np.max(nodes, axis=1).reshape(-1, 1), (1, nodes.shape[1]))
    nodes = np.exp(nodes)
    sum_total = np.sum(nodes, 1)
    return np.divide(nodes, np.tile(sum_total, (nodes.shape[1], 1)).transpose())


def equalize_weights(weights: np.ndarray) -> np.ndarray:
    """SVM.equalize_weights: weights of nearly the same magnitude are given the largest of those."""
    weights = weights.copy()
    mx_value = np.max(np.absolute(weights))
    already_done = np.zeros(weights.shape[0])
    for i in range(len(already_done)):
        if already_done[i]:
            continue
        close = np.isclose(np.absolute(weights[i:]), np.absolute(weights[i]), atol=0.0001 * mx_value)
        close_ind = np.where(close)[0]
        new_mean = np.max(np.absolute(weights[i + close_ind]))
        already_done[i + close_ind] = True
        weights[i + close_ind] = new_mean * np.sign(weights[i + close_ind])
    return weights


def train_svm(x_train: np.ndarray, y_train: np.ndarray, svm_cost: float, fast: bool) -> Svm:
    """SVM(...).train() without prototype, exemplar, dual reuse, symbolic weights or strictness. y_train: +1
    for the first input's rows and -1 for the second's, or the booleans get_concept_layer passes (sic)."""
    if x_train.shape[0] == 2:  # use_exact: the perpendicular bisector of the two points
        new_weights = (x_train[0] - x_train[1]).transpose()
        midpoint = (x_train[0] + x_train[1]) / 2
        bias = -np.sum(np.multiply(new_weights, midpoint))
        factor = np.sum(x_train[0] * new_weights) + bias
        margin = 2 / np.sqrt(np.sum(np.square(new_weights / factor)))
        return Svm(new_weights.copy(), float(bias), float(margin), np.arange(2), np.array([1.0, -1.0]))
    if fast:
        svc = sk_svm.SVC(kernel="linear", C=svm_cost, class_weight="balanced", max_iter=10000, tol=1e-5)
    else:
        svc = sk_svm.SVC(kernel="linear", C=svm_cost, class_weight="balanced", max_iter=50000, tol=1e-30)
    svc.fit(x_train, y_train)
    new_weights = svc.coef_.transpose()
    margin = 2 / np.sqrt(np.sum(np.square(new_weights)))
    weights = equalize_weights(new_weights.copy())[:, 0]
    support = svc.support_ if not fast else np.empty(0, dtype=np.int64)
    return Svm(weights, float(svc.intercept_[0]), float(margin), support, svc.dual_coef_[0].copy())


def two_sided_svm(input_1: np.ndarray, input_2: np.ndarray, svm_cost: float, fast: bool) -> Svm:
    x_train = np.concatenate((input_1, input_2), axis=0)
    y_train = np.concatenate((np.ones((input_1.shape[0],)), -np.ones((input_2.shape[0],))))
    return train_svm(x_train, y_train, svm_cost, fast)


@dataclass
class Reference:
    """What train_full_enn returns: subclass points, layers (weights with their multipliers applied, as
    Network holds them; one concept neuron a class) and the differentiae's support vectors (sample
    indices)."""

    subclass_points: list[list[int]]
    subclass_class: list[int]
    differentia_pairs: list[tuple[int, int]]  # (s_i, s_j): positive on s_i's side
    differentia_w: np.ndarray  # (n_diff, 2), times svm_multiplier_1
    differentia_b: np.ndarray
    differentia_support: list[np.ndarray]
    differentia_dual: list[np.ndarray]
    subconcept_w: np.ndarray  # (n_sub, n_diff), times svm_multiplier_2
    subconcept_b: np.ndarray
    subconcept_support: list[np.ndarray]
    subconcept_dual: list[np.ndarray]
    concept_w: np.ndarray  # (n_classes, n_sub)
    concept_b: np.ndarray
    concept_epochs: int

    def concepts(self, x: np.ndarray) -> np.ndarray:
        d = tanh(x @ self.differentia_w.T + self.differentia_b)
        s = tanh(d @ self.subconcept_w.T + self.subconcept_b)
        return s @ self.concept_w.T + self.concept_b

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.concepts(x), axis=1)


def train_enn(x_train: np.ndarray, y_train: np.ndarray, num_subclasses: int, alternative: int = 1,
              max_subclasses: int | None = None, standardize_inputs: bool = False,
              concept_epochs: int = NUM_EPOCHS) -> Reference:  # fmt: skip
    """train_full_enn(x_train, y_train, parameters) with learnBoundaries' parameters. `max_subclasses`: where
    get_subclasses_alternative_old stops splitting; theirs is 3 * num_subclasses (the default)."""
    x_train = np.array(x_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    classes = np.unique(y_train)
    if standardize_inputs:  # standardize()
        standardization = np.zeros((x_train.shape[1], 2))
        standardization[:, 0] = np.mean(x_train, axis=0)
        standardization[:, 1] = np.std(x_train, axis=0)
        x_train -= np.tile(np.reshape(standardization[:, 0], (1, -1)), (x_train.shape[0], 1))
        spread = np.tile(np.reshape(standardization[:, 1], (1, -1)), (x_train.shape[0], 1))
        x_train = np.divide(x_train, spread)

    def get_error_and_distance(points_i, points_j, total=False):
        if len(points_i) == 0 or len(points_j) == 0:
            return 0, 1e6
        svm = two_sided_svm(x_train[points_i, :], x_train[points_j, :], 10, fast=True)
        weights = svm.weights.reshape(-1, 1)
        if np.all(np.abs(weights) < 1e-6):
            weights = np.ones((x_train.shape[1], 1))
        dist0 = (x_train[points_i, :] @ weights).flatten()
        dist1 = (x_train[points_j, :] @ weights).flatten()
        all_dist = np.concatenate((dist0, dist1))
        all_labels = np.ones(len(all_dist))
        all_labels[: len(dist0)] = 0
        order = np.argsort(all_dist)
        all_labels = all_labels[order]
        all_dist = all_dist[order]
        num0_above, num1_above, num0_below, num1_below = len(dist0), len(dist1), 0, 0
        best_err, tot_err = 0.5, 0  # (their bias from best_b is never used)
        for b in range(len(all_dist) - 1):
            if all_labels[b] == 0:
                num0_below += 1
                num0_above -= 1
            else:
                num1_below += 1
                num1_above -= 1
            err = (num0_below / len(dist0) + num1_above / len(dist1)) / 2
            if all_dist[b + 1] != all_dist[b]:
                if err < best_err or (1 - err) < best_err:
                    best_err = min(err, 1 - err)
                    tot_err = min(num0_below + num1_above, num1_below + num0_above)
        if total:
            return tot_err, svm.margin
        return best_err, svm.margin

    def get_subclasses_alternative_old(num_subclasses):
        subclasses = [[i for i, y in enumerate(y_train) if y == c] for c in classes]
        subclass_y = list(classes)
        class_dist = np.full((len(subclasses), len(subclasses)), np.inf)
        class_errors = -np.ones((len(subclasses), len(subclasses)))
        while len(subclasses) < (3 * num_subclasses if max_subclasses is None else max_subclasses):
            for i in range(len(subclasses)):
                for j in range(i + 1, len(subclasses)):
                    if class_errors[i, j] >= 0:
                        continue
                    best_error, best_margin = get_error_and_distance(subclasses[i], subclasses[j])
                    class_dist[i, j] = best_margin
                    class_errors[i, j] = best_error
            if len(subclasses) >= num_subclasses and max(class_errors.flatten()) <= 0.02:
                break
            # the worst pair of any classes, the same class too (sic)
            inds = np.unravel_index(np.argmax(class_errors), class_errors.shape)
            mean_0 = np.mean(x_train[subclasses[inds[0]], :], axis=0).reshape(1, -1)
            mean_1 = np.mean(x_train[subclasses[inds[1]], :], axis=0).reshape(1, -1)
            if not np.any(mean_0 != mean_1):
                raise AuthorsRandomBranch("equal means: their fallbacks end in np.random.randint")
            weights = two_sided_svm(mean_0, mean_1, 10, fast=True).weights.reshape(-1, 1)
            dist0 = (x_train[subclasses[inds[0]], :] @ weights).flatten()
            dist1 = (x_train[subclasses[inds[1]], :] @ weights).flatten()
            all_dist = np.round(np.concatenate((dist0, dist1)), 6)
            all_labels = np.ones(len(all_dist))
            all_labels[: len(dist0)] = 0
            order = np.argsort(all_dist)
            all_labels = all_labels[order]
            all_dist = all_dist[order]
            num0_above, num1_above, num0_below, num1_below = len(dist0), len(dist1), 0, 0
            best_bias, best_err = 0, np.inf
            unique_dist = np.unique(all_dist)
            for b in range(len(unique_dist)):
                ind = np.where(all_dist == unique_dist[b])[0]
                num0 = np.sum(all_labels[ind] == 0)
                num1 = len(ind) - num0
                num0_above -= num0
                num1_above -= num1
                err = (num0_below / len(dist0) + num1_above / len(dist1)) / 2
                if err <= best_err or (1 - err) <= best_err:
                    best_bias = -unique_dist[b]
                    best_err = min(err, 1 - err)
                num0_below += num0
                num1_below += num1
            bias = best_bias
            found_split = None
            error = True
            for i in range(2):
                dist = (x_train[subclasses[inds[i]], :] @ weights + bias) * (1 - 2 * i)
                ind_p = [k for k, d in enumerate(dist) if d >= 0]
                ind_n = [k for k, d in enumerate(dist) if d < 0]
                if len(ind_p) == 0 or len(ind_n) == 0:
                    found_split = 1 - i
                else:
                    error = False
                    subclasses.append([subclasses[inds[i]][k] for k in ind_p])
                    subclasses.append([subclasses[inds[i]][k] for k in ind_n])
                    subclass_y += [subclass_y[inds[i]]] * 2
            if error:  # the counters carry on from the loop above (sic)
                best_bias, best_err = 0, np.inf
                for b in range(len(unique_dist) - 1):
                    ind = np.where(all_dist == unique_dist[b])[0]
                    num0 = np.sum(all_labels[ind] == 0)
                    num1 = len(ind) - num0
                    num0_above -= num0
                    num1_above -= num1
                    num0_below += num0
                    num1_below += num1
                    err = (num0_below / len(dist0) + num1_above / len(dist1)) / 2
                    if err <= best_err or (1 - err) <= best_err:
                        best_bias = -(unique_dist[b] + unique_dist[b + 1]) / 2
                        best_err = min(err, 1 - err)
                bias = best_bias
                found_split = None
                error = True
                for i in range(2):
                    dist = x_train[subclasses[inds[i]], :] @ weights + bias
                    ind_p = [k for k, d in enumerate(dist) if d > 0]
                    ind_n = [k for k, d in enumerate(dist) if d <= 0]
                    if len(ind_p) == 0 or len(ind_n) == 0:
                        found_split = 1 - i
                    else:
                        error = False
                        subclasses.append([subclasses[inds[i]][k] for k in ind_p])
                        subclasses.append([subclasses[inds[i]][k] for k in ind_n])
                        subclass_y += [subclass_y[inds[i]]] * 2
            if error:
                raise AuthorsRandomBranch("no threshold splits either subclass: theirs splits at random")
            if found_split is None:
                best_error_00, _ = get_error_and_distance(subclasses[-4], subclasses[inds[1]], total=True)
                best_error_01, _ = get_error_and_distance(subclasses[-3], subclasses[inds[1]], total=True)
                best_error_10, _ = get_error_and_distance(subclasses[-2], subclasses[inds[0]], total=True)
                best_error_11, _ = get_error_and_distance(subclasses[-1], subclasses[inds[0]], total=True)
                if best_error_00 + best_error_01 > best_error_10 + best_error_11:  # the first's split: worse
                    del subclasses[-4], subclass_y[-4]
                    del subclasses[-3], subclass_y[-3]
                    ind_to_split = inds[1]
                else:
                    del subclasses[-2], subclass_y[-2]
                    del subclasses[-1], subclass_y[-1]
                    ind_to_split = inds[0]
            else:
                ind_to_split = inds[found_split]
            del subclasses[ind_to_split], subclass_y[ind_to_split]
            class_dist = np.delete(class_dist, ind_to_split, axis=0)
            class_dist = np.delete(class_dist, ind_to_split, axis=1)
            class_errors = np.delete(class_errors, ind_to_split, axis=0)
            class_errors = np.delete(class_errors, ind_to_split, axis=1)
            class_dist = np.vstack((class_dist, np.full((2, class_dist.shape[1]), np.inf)))
            class_dist = np.hstack((class_dist, np.full((class_dist.shape[0], 2), np.inf)))
            class_errors = np.vstack((class_errors, -np.ones((2, class_errors.shape[1]))))
            class_errors = np.hstack((class_errors, -np.ones((class_errors.shape[0], 2))))
        return subclasses, subclass_y

    def get_subclasses_ward(num_subclasses):
        """get_subclasses' hierarchical branch (alternative_subclasses 0 or 2, no weights or hierarchy)."""
        classes_points = [[i for i, yi in enumerate(y_train) if yi == c] for c in classes]
        linkage_trees, curr_ind, cluster_ids = [], [], []
        for points in classes_points:
            if len(points) > 1:
                linkage_trees.append(scipy.cluster.hierarchy.linkage(x_train[points], method="ward"))
            else:
                linkage_trees.append(None)
            curr_ind.append(len(points) - 2)
            cluster_ids.append([len(points) * 2 - 2])
        max_num_subclasses = 30 if alternative else num_subclasses
        for num_subs in range(num_subclasses, max_num_subclasses + 1):
            if num_subs > num_subclasses:
                curr_ind = [len(points) - 2 for points in classes_points]
                cluster_ids = [[len(points) * 2 - 2] for points in classes_points]
            for _ in range(len(classes_points), num_subs):
                max_branch, to_split = -1, 0
                for i in range(len(classes_points)):
                    if curr_ind[i] < 0 or linkage_trees[i] is None:
                        continue
                    if linkage_trees[i][curr_ind[i]][2] > max_branch:
                        max_branch = linkage_trees[i][curr_ind[i]][2]
                        to_split = i
                    elif linkage_trees[i][curr_ind[i]][2] == max_branch:
                        if len(cluster_ids[i]) < len(cluster_ids[to_split]):
                            to_split = i
                new_inds = linkage_trees[to_split][curr_ind[to_split]][0:2]
                old_ind = cluster_ids[to_split].index(curr_ind[to_split] + len(classes_points[to_split]))
                cluster_ids[to_split].pop(old_ind)
                cluster_ids[to_split] += [int(new_inds[0]), int(new_inds[1])]
                curr_ind[to_split] -= 1
            subclasses, subclass_y = [], []
            for c_i, points in enumerate(classes_points):
                if linkage_trees[c_i] is None:
                    subclasses.append(points)
                    subclass_y.append(classes[c_i])
                    continue
                count = len(cluster_ids[c_i])
                clusters = scipy.cluster.hierarchy.cut_tree(linkage_trees[c_i], n_clusters=count)
                for s in range(len(np.unique(clusters))):
                    subclasses.append([points[i] for i in np.where(clusters == s)[0]])
                    subclass_y.append(classes[c_i])
            if num_subs < max_num_subclasses:
                total_err, good_subclasses = 0, True
                for i in range(len(subclasses)):
                    for j in range(i + 1, len(subclasses)):
                        if subclass_y[i] == subclass_y[j]:
                            continue
                        err, _ = get_error_and_distance(subclasses[i], subclasses[j])
                        total_err += err
                        if total_err > 0.0002:
                            good_subclasses = False
                            break
                    if not good_subclasses:
                        break
                if good_subclasses:
                    break
        return subclasses, subclass_y

    if alternative == 1:
        subclasses, subclass_y = get_subclasses_alternative_old(num_subclasses)
    else:
        subclasses, subclass_y = get_subclasses_ward(num_subclasses)

    # get_all_differentiae (not parallel): every pair of different classes sharing at most 10% of its points
    diff_svms, sc_indices = [], []
    for s_i in range(len(subclasses)):
        for s_j in range(s_i + 1, len(subclasses)):
            if subclass_y[s_i] == subclass_y[s_j]:
                continue
            overlap = len(np.intersect1d(subclasses[s_i], subclasses[s_j]))
            if overlap / min(len(subclasses[s_i]), len(subclasses[s_j])) > 0.1:
                continue
            first, second = x_train[subclasses[s_i], :], x_train[subclasses[s_j], :]
            diff_svms.append(two_sided_svm(first, second, SVM_COST_1, fast=False))
            sc_indices.append((s_i, s_j))
    diff_weights = np.zeros((x_train.shape[1], len(diff_svms)))  # Layer.add_nodes: (inputs, nodes)
    diff_biases = np.zeros(len(diff_svms))
    for s, svm in enumerate(diff_svms):
        diff_weights[:, s], diff_biases[s] = svm.weights.flatten(), svm.bias
    diff_weights *= SVM_MULTIPLIER_1 / 1  # set_mult_factor
    diff_biases *= SVM_MULTIPLIER_1 / 1
    differentia_support = [np.array(subclasses[i] + subclasses[j])[s.support]
                           for s, (i, j) in zip(diff_svms, sc_indices, strict=True)]  # fmt: skip

    # get_subclass_neurons -> get_subclass_weights_test, no pruning (margin_ratio = inf)
    def differentiae_output(inputs):  # Layer.compute_output(inputs, use_nodes=range(all))
        nodes = inputs @ diff_weights[:, range(len(diff_svms))]
        return tanh(np.add(nodes, np.tile(diff_biases, (nodes.shape[0], 1))))

    sub_svms, sub_rows = [], []
    for sc_i, points in enumerate(subclasses):
        interclass_points = [i for i in range(y_train.shape[0]) if y_train[i] != subclass_y[sc_i]]
        diff_output_sc = differentiae_output(x_train[points, :])
        diff_output_ic = differentiae_output(x_train[interclass_points, :])
        sub_svms.append(two_sided_svm(diff_output_sc, diff_output_ic, SVM_COST_2, fast=False))
        sub_rows.append(np.array(list(points) + interclass_points))
    sub_weights = np.zeros((len(diff_svms), len(sub_svms)))
    sub_biases = np.zeros(len(sub_svms))
    for s, svm in enumerate(sub_svms):
        sub_weights[:, s], sub_biases[s] = svm.weights.flatten(), svm.bias

    # get_concept_layer: softmax (check_parameters' default), one-vs-all SVMs on the subconcept outputs, x8,
    # then gradient descent on the concept layer alone
    nodes = tanh(np.add(x_train @ diff_weights, np.tile(diff_biases, (x_train.shape[0], 1))))
    subclass_pre_output = np.add(nodes @ sub_weights, np.tile(sub_biases, (nodes.shape[0], 1)))
    mult_factor = SVM_MULTIPLIER_2
    subclass_output = tanh(subclass_pre_output * mult_factor)
    num_samples, num_classes = x_train.shape[0], len(classes)
    target = np.ones((num_samples, num_classes)) * (1 - CONCEPT_CERTAINTY) / (len(classes) - 1)
    for sample in range(num_samples):
        target[sample, np.where(classes == y_train[sample])[0]] = CONCEPT_CERTAINTY
    concept_svms = [train_svm(subclass_output, y_train == c, 1000, fast=False) for c in classes]
    weights = np.array([s.weights for s in concept_svms]).T * 8  # (n_sub, n_classes); set_mult_factor(8)
    biases = np.array([s.bias for s in concept_svms]) * 8
    # subclass_layer.activation == 'tanh' compares a method with a string: never true, so no sigmoid (sic)
    err_previous, err_last_check = np.inf, np.inf
    best_weights, best_biases = weights.copy(), biases.copy()
    stagnation_count, learn_factor, learn_factor_min = 0, 0.001, 1e-3
    epoch = 0
    for epoch in range(concept_epochs):  # noqa: B007 - the epochs it took are reported
        class_output = softmax(subclass_output @ weights + np.tile(biases, (num_samples, 1)))
        err = np.sqrt(np.sum((class_output - target) ** 2))
        if err < err_previous:
            stagnation_count = 0
            if err / err_previous > 0.99:
                learn_factor *= 1.05
            err_previous = err
            best_weights, best_biases = weights.copy(), biases.copy()
        else:
            stagnation_count += 1
            if learn_factor > learn_factor_min:
                learn_factor *= 0.95
        if (epoch % 200) == 0:
            if err > err_last_check * 0.995:
                stagnation_count = np.inf
            err_last_check = err
        if (stagnation_count > 20 and epoch > 1000) or err < num_samples * 1e-7:
            break
        d_j_do = class_output - target  # softmax
        d_j_dw = np.matmul(subclass_output.transpose(), d_j_do)
        d_j_db = np.sum(d_j_do, axis=0)
        learn_rate = learn_factor * np.max(np.absolute(weights)) / np.max(np.absolute(d_j_dw))
        weights = weights - learn_rate * d_j_dw
        biases = biases - learn_rate * d_j_db

    if standardize_inputs:  # destandardize(), after the whole network is built
        for dim in range(x_train.shape[1]):
            diff_biases -= np.divide(np.multiply(diff_weights[dim, :], standardization[dim, 0]),
                                     standardization[dim, 1])  # fmt: skip
        for dim in range(x_train.shape[1]):
            diff_weights[dim, :] /= standardization[dim, 1]
    return Reference(
        subclass_points=[list(p) for p in subclasses],
        subclass_class=[int(c) for c in subclass_y],
        differentia_pairs=sc_indices,
        differentia_w=diff_weights.T.copy(),
        differentia_b=diff_biases,
        differentia_support=differentia_support,
        differentia_dual=[s.dual for s in diff_svms],
        subconcept_w=sub_weights.T * (SVM_MULTIPLIER_2 / 1),  # subclass_layer.set_mult_factor(8)
        subconcept_b=sub_biases * (SVM_MULTIPLIER_2 / 1),
        subconcept_support=[rows[s.support] for s, rows in zip(sub_svms, sub_rows, strict=True)],
        subconcept_dual=[s.dual for s in sub_svms],
        concept_w=best_weights.T,
        concept_b=best_biases,
        concept_epochs=epoch + 1,
    )
