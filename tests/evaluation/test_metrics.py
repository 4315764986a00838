"""FD, KID, IS, precision/recall and the conditional-quality helpers on hand-built features."""

import math

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfgan_pipeline.evaluation import metrics


def _with_moments(mean, cov_diag, n, seed):
    """``n`` samples whose sample mean / (ddof=1) covariance are exactly ``mean`` / diag."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(z, rowvar=False))
    white = np.linalg.solve(chol, z.T).T  # sample covariance exactly I
    return np.asarray(mean) + white * np.sqrt(cov_diag)


# ------------------------------------------------------------------ Fréchet distance
def test_frechet_distance_of_identical_features_is_zero():
    features = np.random.default_rng(0).standard_normal((200, 16))
    result = metrics.frechet_distance(features, features)
    assert result.value == pytest.approx(0.0, abs=1e-9)
    assert (result.num_samples_a, result.num_samples_b) == (200, 200)
    assert result.details["feature_dim"] == 16


def test_frechet_distance_of_diagonal_gaussians_matches_closed_form():
    mu_a, var_a = np.array([0.0, 1.0, -2.0]), np.array([1.0, 4.0, 0.25])
    mu_b, var_b = np.array([1.0, 1.0, 0.0]), np.array([9.0, 1.0, 0.25])
    a = _with_moments(mu_a, var_a, 50, seed=1)
    b = _with_moments(mu_b, var_b, 70, seed=2)
    # sum (sqrt(a) - sqrt(b))^2 + ||mu_a - mu_b||^2 = (4 + 1 + 0) + (1 + 0 + 4).
    expected = np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2) + np.sum((mu_a - mu_b) ** 2)
    assert expected == pytest.approx(10.0)
    result = metrics.frechet_distance(a, b)
    assert result.value == pytest.approx(10.0, rel=1e-9)
    assert (result.num_samples_a, result.num_samples_b) == (50, 70)
    assert metrics.frechet_distance(b, a).value == pytest.approx(10.0, rel=1e-9)


def test_frechet_distance_from_statistics_matches_sqrtm_reference():
    rng = np.random.default_rng(3)
    m_a, m_b = rng.standard_normal((2, 6, 6))
    cov_a, cov_b = m_a @ m_a.T + 0.1 * np.eye(6), m_b @ m_b.T + 0.1 * np.eye(6)
    mu_a, mu_b = rng.standard_normal((2, 6))
    reference = (np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b)).real)
    value = metrics.frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b)
    assert value == pytest.approx(reference, rel=1e-9)


def test_frechet_distance_rank_deficient_covariance_is_finite_and_exact_for_shifts():
    # N = 5 < D = 20: both covariances have rank 4.
    a = np.random.default_rng(4).standard_normal((5, 20))
    shift = np.linspace(-1, 1, 20)
    assert metrics.frechet_distance(a, a).value == pytest.approx(0.0, abs=1e-9)
    # Same covariance, shifted mean: only the ||mu_a - mu_b||^2 term remains.
    assert metrics.frechet_distance(a, a + shift).value == pytest.approx(
        np.sum(shift ** 2), rel=1e-9)
    b = np.random.default_rng(5).standard_normal((3, 20))
    value = metrics.frechet_distance(a, b).value
    assert math.isfinite(value) and value > 0


def test_frechet_distance_accepts_tensors_and_one_dimensional_features():
    a = tf.constant([[0.0], [2.0]])  # mean 1, variance 2
    b = tf.constant([[3.0], [5.0], [7.0]])  # mean 5, variance 4
    expected = (1 - 5) ** 2 + (math.sqrt(2) - 2) ** 2
    assert metrics.frechet_distance(a, b).value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("a, b, message", [
    (np.zeros((4, 3)), np.zeros((4, 2)), "same feature dimension"),
    (np.zeros((1, 3)), np.zeros((4, 3)), "at least 2"),
    (np.zeros((4, 3, 1)), np.zeros((4, 3)), r"shape \[N, D\]"),
    (np.full((4, 3), np.nan), np.zeros((4, 3)), "nan/inf"),
])
def test_frechet_distance_rejects_bad_inputs(a, b, message):
    with pytest.raises(ValueError, match=message):
        metrics.frechet_distance(a, b)


def test_metric_result_reports_sample_sizes():
    result = metrics.MetricResult(value=1.5, std=0.5, num_samples_a=10, num_samples_b=20)
    assert float(result) == 1.5
    assert result.to_dict("fd") == {"fd": 1.5, "fd_std": 0.5, "fd_num_samples_a": 10,
                                    "fd_num_samples_b": 20}


# ------------------------------------------------------------------ kernel distance
def _direct_mmd2(x, y):
    """O(n^2) loops over the unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3."""
    d = x.shape[1]

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kernel_distance_by_hand():
    # d = 1: k(0,1) = 1; k(2,3) = 7^3 = 343; cross terms 1, 1, 27, 64 -> mean 23.25.
    result = metrics.kernel_distance([[0.0], [1.0]], [[2.0], [3.0]], num_subsets=1,
                                     subset_size=2)
    assert result.value == pytest.approx(1 + 343 - 2 * 23.25)
    assert result.std == 0.0
    assert result.details == {"num_subsets": 1, "subset_size": 2}


def test_kernel_distance_matches_direct_implementation():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3)) + 0.5
    # A subset of every row is a permutation, which leaves MMD^2 unchanged.
    result = metrics.kernel_distance(x, y, num_subsets=3, subset_size=7, seed=1)
    assert result.value == pytest.approx(_direct_mmd2(x, y), rel=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-12)


def test_kernel_distance_same_distribution_is_near_zero():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 600, 8))
    same = metrics.kernel_distance(a, b, num_subsets=20, subset_size=300, seed=0)
    shifted = metrics.kernel_distance(a, b + 0.5, num_subsets=20, subset_size=300, seed=0)
    assert abs(same.value) < 0.02
    assert shifted.value > 0.1
    assert (same.num_samples_a, same.num_samples_b) == (600, 600)
    again = metrics.kernel_distance(a, b, num_subsets=20, subset_size=300, seed=0)
    assert again == same


def test_kernel_distance_subset_size():
    a, b = np.zeros((5, 2)), np.ones((8, 2))
    assert metrics.kernel_distance(a, b, subset_size=None).details["subset_size"] == 5
    with pytest.raises(ValueError, match="subset_size 6 exceeds"):
        metrics.kernel_distance(a, b, subset_size=6)
    with pytest.raises(ValueError, match="num_subsets"):
        metrics.kernel_distance(a, b, num_subsets=0, subset_size=2)


# ------------------------------------------------------------------ classifier score
def test_classifier_score_of_uniform_predictions_is_one():
    result = metrics.classifier_score(np.zeros((50, 10)))
    assert result.value == pytest.approx(1.0)
    assert result.std is None and result.num_samples_a == 50


def test_classifier_score_of_confident_predictions_on_k_classes_is_k():
    labels = np.tile(np.arange(4), 25)
    logits = 60.0 * np.eye(10)[labels] + 3.0  # a per-row constant does not matter
    assert metrics.classifier_score(logits).value == pytest.approx(4.0, rel=1e-9)


def test_classifier_score_by_hand():
    # p(y|x1) ~ [1, 0], p(y|x2) = [.5, .5]; p(y) = [.75, .25];
    # KL1 = log(4/3), KL2 = .5 log(2/3) + .5 log(2) = .5 log(4/3) -> IS = (4/3)^0.75.
    logits = np.array([[80.0, 0.0], [0.0, 0.0]])
    assert metrics.classifier_score(logits).value == pytest.approx((4 / 3) ** 0.75, rel=1e-9)


def test_classifier_score_splits():
    # First split: always class 0 (IS 1); second: classes 0 and 1 equally (IS 2).
    logits = 60.0 * np.eye(3)[[0, 0, 0, 0, 0, 1, 0, 1]]
    result = metrics.classifier_score(logits, splits=2)
    assert result.value == pytest.approx(1.5, rel=1e-9)
    assert result.std == pytest.approx(0.5, rel=1e-9)
    assert result.details == {"splits": 2}
    with pytest.raises(ValueError, match="splits=9 exceeds"):
        metrics.classifier_score(logits, splits=9)


# ------------------------------------------------------------------ precision / recall
def test_precision_recall_of_identical_sets_is_one():
    features = np.random.default_rng(8).standard_normal((100, 5))
    result = metrics.precision_recall(features, features, k=3)
    assert (result.precision, result.recall) == (1.0, 1.0)
    assert (result.k, result.num_real, result.num_fake) == (3, 100, 100)


def test_precision_recall_of_far_apart_clusters_is_zero():
    rng = np.random.default_rng(9)
    real = rng.standard_normal((80, 4))
    fake = rng.standard_normal((60, 4)) + 100.0
    result = metrics.precision_recall(real, fake)
    assert (result.precision, result.recall) == (0.0, 0.0)


def test_precision_recall_when_fake_covers_one_of_four_modes():
    rng = np.random.default_rng(10)
    centres = 20.0 * np.eye(4)
    real = np.concatenate([c + rng.standard_normal((200, 4)) for c in centres])
    fake = centres[0] + rng.standard_normal((200, 4))
    result = metrics.precision_recall(real, fake, k=3)
    # Ideal: precision ~ 1 (every fake sample is realistic), recall ~ 1/4.
    assert result.precision > 0.8
    assert result.recall < 0.3


def test_precision_recall_by_hand_and_in_small_blocks():
    # Real radii (k=1) are all 1; fake radii are 0.1 (first pair) and 0.2 (second).
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [0.6], [10.0], [10.2]])
    result = metrics.precision_recall(real, fake, k=1)
    assert (result.precision, result.recall) == (0.5, 0.0)
    rng = np.random.default_rng(11)
    real, fake = rng.standard_normal((50, 3)), rng.standard_normal((40, 3)) + 0.7
    assert metrics.precision_recall(real, fake, batch_size=7) == metrics.precision_recall(
        real, fake)


def test_precision_recall_needs_more_samples_than_k():
    with pytest.raises(ValueError, match="at least 4"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# ------------------------------------------------------------------ conditional quality
def test_label_accuracy():
    logits = np.eye(3)[[0, 1, 2, 1]]
    result = metrics.label_accuracy(logits, [0, 1, 1, 1])
    assert result.value == 0.75 and result.num_samples_a == 4
    with pytest.raises(ValueError, match="4 rows but requested_labels has 3"):
        metrics.label_accuracy(logits, [0, 1, 1])
    with pytest.raises(ValueError, match="outside 0..2"):
        metrics.label_accuracy(logits, [0, 1, 3, 1])


def test_categorical_code_accuracy_undoes_a_permutation():
    labels = np.tile(np.arange(5), 4)
    permutation = np.array([3, 0, 4, 1, 2])  # code value shown for each class
    codes = permutation[labels]
    result = metrics.categorical_code_accuracy(codes, labels, num_categories=5)
    assert result.value == 1.0 and result.num_samples_a == 20
    assert result.details["assignment"] == {3: 0, 0: 1, 4: 2, 1: 3, 2: 4}
    # Two samples with a wrong code: 18 / 20 still agree under the same matching.
    noisy = codes.copy()
    noisy[[0, 1]] = [4, 4]
    assert metrics.categorical_code_accuracy(noisy, labels, 5).value == pytest.approx(0.9)


def test_categorical_code_accuracy_one_to_one_with_more_codes_than_classes():
    # Codes 0 and 1 both mean class 0; only one of them may be matched to it.
    codes = [0, 0, 1, 1, 2, 2]
    labels = [0, 0, 0, 0, 1, 1]
    result = metrics.categorical_code_accuracy(codes, labels, num_categories=3, num_classes=2)
    assert result.value == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match="outside 0..2"):
        metrics.categorical_code_accuracy([3], [0], num_categories=3)
