"""Offline sample-quality metrics on classifier features: FD, KID, IS, precision/recall.

Every metric here takes features (or logits) that some classifier already computed
(see :mod:`tfgan_pipeline.evaluation.classifier`), as numpy arrays or eager tensors,
and works in float64:

* :func:`frechet_distance` -- Heusel et al., "GANs Trained by a Two Time-Scale
  Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, Eq. 6 (FID when
  the features are Inception pool3 activations):
  ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})``.
* :func:`kernel_distance` -- Binkowski et al., "Demystifying MMD GANs", ICLR 2018,
  Sec. 4 (KID): the unbiased MMD^2 estimator with the cubic polynomial
  kernel ``k(x, y) = (x . y / d + 1)^3``, averaged over random subsets.
* :func:`classifier_score` -- Salimans et al., "Improved Techniques for Training
  GANs", NeurIPS 2016, Sec. 4 (Inception Score): ``exp(E_x KL(p(y|x) || p(y)))``.
* :func:`precision_recall` -- Kynkaanniemi et al., "Improved Precision and Recall
  Metric for Assessing Generative Models", NeurIPS 2019, Sec. 3: k-NN balls around
  each sample approximate the real and generated manifolds.
* conditional quality: :func:`label_accuracy` (conditional GANs, Mirza & Osindero
  2014; AC-GAN, Odena et al. 2017, Sec. 4 report the same "classifier accuracy on
  requested labels") and :func:`categorical_code_accuracy` (InfoGAN, Chen et al.,
  NeurIPS 2016, Sec. 7.2: the categorical code matched to digit classes; here the
  best one-to-one matching by the Hungarian algorithm).

Read these numbers with care:

* **Not comparable to published FID/KID/IS.** Published numbers use Inception-v3
  features (pool3, 2048-D) or logits on ImageNet. A Fréchet distance on the
  features of a domain classifier (e.g. the small MNIST CNN of
  :mod:`~tfgan_pipeline.evaluation.classifier`) is a valid within-project
  comparison, but is a different quantity: never put it next to a paper's FID.
* **Sample size matters and must be reported.** FD is strongly biased upwards at
  small N (the bias falls roughly like 1/N: Binkowski et al. 2018, Sec. 4; Chong &
  Forsyth, "Effectively Unbiased FID", CVPR 2020) and only comparable at equal N.
  Measured here: FD between two disjoint sets of real MNIST test digits on the
  128-D features of the package's MNIST classifier is ~14.8 at N = 50, ~2.8 at
  N = 200 and ~0.6 at N = 1000 -- the same distribution throughout.
  KID is unbiased but has high variance at small subset sizes; IS and
  precision/recall also depend on N (IS on the number of splits, P&R on k and N).
  Every function therefore returns :class:`MetricResult` (or
  :class:`PrecisionRecall`) carrying the sample counts it used; put them in the
  report next to the value.
"""

import dataclasses

import numpy as np
import scipy.optimize

#: Upper bound on the entries of one block of the pairwise-distance matrix in
#: :func:`precision_recall` (2^24 float64 = 128 MiB).
_MAX_BLOCK_ENTRIES = 1 << 24


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """A metric value with the sample sizes it was computed on.

    Attributes:
      value: the metric (for subset/split metrics, the mean over subsets/splits).
      std: spread of the per-subset/per-split values (population std, ``ddof=0``),
        or ``None`` when the metric was computed once.
      num_samples_a: samples of the first (usually real) set, or the only set.
      num_samples_b: samples of the second (usually generated) set; ``None`` for
        one-set metrics (classifier score, label accuracy).
      details: metric-specific extras (subset size, matching, ...), not compared.
    """

    value: float
    std: float | None = None
    num_samples_a: int | None = None
    num_samples_b: int | None = None
    details: dict = dataclasses.field(default_factory=dict, compare=False, hash=False)

    def __float__(self):
        return float(self.value)

    def to_dict(self, name="value"):
        """Flat scalars for logs / metric files: ``{name, name_std, name_num_samples_*}``."""
        out = {name: float(self.value)}
        if self.std is not None:
            out[f"{name}_std"] = float(self.std)
        if self.num_samples_a is not None:
            out[f"{name}_num_samples_a"] = int(self.num_samples_a)
        if self.num_samples_b is not None:
            out[f"{name}_num_samples_b"] = int(self.num_samples_b)
        return out


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Result of :func:`precision_recall` (Kynkaanniemi et al. 2019).

    Attributes:
      precision: fraction of generated samples inside the real manifold.
      recall: fraction of real samples inside the generated manifold.
      k: the neighbourhood size used for the k-NN radii.
      num_real: number of real samples.
      num_fake: number of generated samples.
    """

    precision: float
    recall: float
    k: int
    num_real: int
    num_fake: int

    def to_dict(self):
        """Flat scalars for logs / metric files."""
        return dataclasses.asdict(self)


# ------------------------------------------------------------------ checks
def _as_features(features, name, min_samples=2):
    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a numeric [N, D] array or tensor ({e}).") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape [N, D] (one feature vector per row), got "
                         f"shape {array.shape}; flatten or pool the features first.")
    if array.shape[0] < min_samples:
        raise ValueError(f"{name} has {array.shape[0]} samples; this metric needs at least "
                         f"{min_samples}.")
    if array.shape[1] < 1:
        raise ValueError(f"{name} has feature dimension 0.")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} has {int(bad.sum())} rows with nan/inf (first at row "
                         f"{int(np.argmax(bad))}); a diverged generator or classifier? Fix or "
                         "filter them explicitly before computing the metric.")
    return array


def _same_dim(a, b, names):
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same feature dimension, "
                         f"got {a.shape[1]} and {b.shape[1]}; were they computed by the same "
                         "classifier layer?")


def _check_positive_int(value, name, minimum=1):
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


# ------------------------------------------------------------------ Fréchet distance
def feature_statistics(features):
    """Mean and unbiased covariance (``ddof=1``) of ``[N, D]`` features, in float64.

    Store these for the real data once (e.g. with the run's classifier) and pass
    them to :func:`frechet_distance_from_statistics`.

    Raises:
      ValueError: for a non-2-D array, fewer than 2 samples, or non-finite rows.
    """
    features = _as_features(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False, ddof=1).reshape(
        features.shape[1], features.shape[1])


def _clip_round_off(eigenvalues):
    """Sets eigenvalues at round-off level (``|l| <= D * eps * max|l|``) and below to 0.

    The threshold is the usual numerical-rank tolerance (``numpy.linalg.matrix_rank``).
    Without it, the square roots of the ~1e-16 eigenvalues of a singular covariance
    (N <= D) would add ~1e-8 each to the trace.
    """
    tol = eigenvalues.shape[0] * np.finfo(np.float64).eps * np.max(np.abs(eigenvalues),
                                                                    initial=0.0)
    return np.where(eigenvalues > tol, eigenvalues, 0.0)


def _psd_sqrt(matrix):
    """Symmetric PSD square root via ``eigh``, with round-off eigenvalues set to 0."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    root = np.sqrt(_clip_round_off(eigenvalues))
    return (eigenvectors * root) @ eigenvectors.T


def _trace_sqrt_product(cov_a, cov_b):
    """``Tr((S_a S_b)^{1/2})`` through the symmetric form ``S_a^{1/2} S_b S_a^{1/2}``.

    ``S_a S_b`` is similar to the PSD matrix ``M = S_a^{1/2} S_b S_a^{1/2}`` (conjugate by
    ``S_a^{1/2}``), so both have the same non-negative eigenvalues and
    ``Tr((S_a S_b)^{1/2}) = sum_i sqrt(lambda_i(M))``. ``M`` is symmetric, so ``eigh``
    gives real eigenvalues with no complex round-off (unlike ``scipy.linalg.sqrtm`` of
    the non-symmetric product) and no diagonal offset is needed when a covariance is
    singular (``N <= D``); eigenvalues at round-off level (or slightly negative) are
    set to 0 (:func:`_clip_round_off`).
    """
    sqrt_a = _psd_sqrt(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    middle = 0.5 * (middle + middle.T)
    eigenvalues = np.linalg.eigvalsh(middle)
    return float(np.sqrt(_clip_round_off(eigenvalues)).sum())


def frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b):
    """Fréchet distance between ``N(mu_a, cov_a)`` and ``N(mu_b, cov_b)`` (Heusel et al., Eq. 6).

    Args:
      mu_a, mu_b: mean vectors ``[D]``.
      cov_a, cov_b: symmetric PSD covariance matrices ``[D, D]``.

    Returns:
      The squared Fréchet (2-Wasserstein) distance as a float >= 0; values that
      round-off pushes below 0 (identical statistics) are returned as 0.

    Raises:
      ValueError: on inconsistent shapes or non-finite entries.
    """
    mu_a, mu_b = (np.asarray(m, dtype=np.float64) for m in (mu_a, mu_b))
    cov_a, cov_b = (np.asarray(c, dtype=np.float64) for c in (cov_a, cov_b))
    if mu_a.ndim != 1 or mu_a.shape != mu_b.shape:
        raise ValueError(f"means must be vectors of the same length, got {mu_a.shape} and "
                         f"{mu_b.shape}.")
    dim = mu_a.shape[0]
    for name, cov in (("cov_a", cov_a), ("cov_b", cov_b)):
        if cov.shape != (dim, dim):
            raise ValueError(f"{name} must have shape {(dim, dim)} to match the means, got "
                             f"{cov.shape}.")
    for name, value in (("mu_a", mu_a), ("mu_b", mu_b), ("cov_a", cov_a), ("cov_b", cov_b)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} has nan/inf entries.")
    diff = mu_a - mu_b
    value = (diff @ diff + np.trace(cov_a) + np.trace(cov_b)
             - 2.0 * _trace_sqrt_product(cov_a, cov_b))
    return max(float(value), 0.0)


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (FID-style).

    Heusel et al. 2017, Eq. 6: ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})``
    with unbiased (``ddof=1``) covariances, computed in float64. The matrix square
    root enters only through its trace, computed stably from the symmetric matrix
    ``S_a^{1/2} S_b S_a^{1/2}`` with ``eigh`` (see :func:`_trace_sqrt_product`):
    real-valued by construction, finite for rank-deficient covariances (``N <= D``).

    Strongly biased upwards at small N: compare values only at equal sample sizes
    and report them (see the module docstring). Cost: two ``D x D``
    eigendecompositions, ~10-30 s for ``D = 2048`` on 2 CPU cores (about half the
    time of ``scipy.linalg.sqrtm`` on the product).

    Args:
      features_a: ``[N_a, D]`` features (e.g. real images), ``N_a >= 2``.
      features_b: ``[N_b, D]`` features (e.g. generated images), ``N_b >= 2``.

    Returns:
      :class:`MetricResult` with ``value`` (>= 0), ``num_samples_a = N_a``,
      ``num_samples_b = N_b``.

    Raises:
      ValueError: for non-2-D inputs, different ``D``, fewer than 2 samples, or
        nan/inf features.
    """
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    _same_dim(a, b, ("features_a", "features_b"))
    value = frechet_distance_from_statistics(*feature_statistics(a), *feature_statistics(b))
    return MetricResult(value=value, num_samples_a=a.shape[0], num_samples_b=b.shape[0],
                        details={"feature_dim": a.shape[1]})


# ------------------------------------------------------------------ kernel distance
def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """``(gamma * x . y + coef0)^degree`` for rows of ``x`` ``[n, d]`` and ``y`` ``[m, d]``.

    ``gamma`` defaults to ``1 / d`` (KID's kernel, Binkowski et al. 2018, Sec. 4).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(k_xx, k_yy, k_xy):
    """Unbiased MMD^2 from kernel matrices (Gretton et al., JMLR 2012, Eq. 3).

    ``1/(m(m-1)) sum_{i!=j} k(x_i,x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i,y_j)
    - 2/(mn) sum_{i,j} k(x_i,y_j)``; the diagonals of ``k_xx`` and ``k_yy`` are left out.
    """
    m, n = k_xx.shape[0], k_yy.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"unbiased MMD^2 needs at least 2 samples per set, got {m} and {n}.")
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float(sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * k_xy.sum() / (m * n))


def kernel_distance(features_a, features_b, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance style score (Binkowski et al. 2018, Sec. 4).

    For each of ``num_subsets`` rounds, draws ``subset_size`` rows from each set
    (without replacement within a round, independently across rounds) and
    computes the unbiased MMD^2 with ``k(x, y) = (x . y / d + 1)^3``. The mean over
    rounds is the estimate; it is unbiased, so it can be slightly negative when the
    two distributions are equal. The paper's defaults are 100 subsets of 1000.

    Args:
      features_a: ``[N_a, D]`` features (e.g. real).
      features_b: ``[N_b, D]`` features (e.g. generated).
      num_subsets: number of random subsets (>= 1).
      subset_size: rows per subset (>= 2); ``None`` uses
        ``min(1000, N_a, N_b)``. An explicit size larger than either set is an error
        (lower it rather than have it silently shrunk).
      seed: seed of the subset sampling (``numpy.random.default_rng``).

    Returns:
      :class:`MetricResult`: ``value`` = mean MMD^2, ``std`` = std over subsets
      (``ddof=0``; 0 for one subset), sample counts, and
      ``details = {"num_subsets", "subset_size"}``.

    Raises:
      ValueError: on bad shapes, sizes, or non-finite features.
    """
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    _same_dim(a, b, ("features_a", "features_b"))
    num_subsets = _check_positive_int(num_subsets, "num_subsets")
    if subset_size is None:
        subset_size = min(1000, a.shape[0], b.shape[0])
    subset_size = _check_positive_int(subset_size, "subset_size", minimum=2)
    if subset_size > min(a.shape[0], b.shape[0]):
        raise ValueError(
            f"subset_size {subset_size} exceeds the smaller set ({a.shape[0]} and "
            f"{b.shape[0]} samples); pass subset_size <= {min(a.shape[0], b.shape[0])} or "
            "subset_size=None.")
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets, dtype=np.float64)
    for i in range(num_subsets):
        x = a[rng.choice(a.shape[0], subset_size, replace=False)]
        y = b[rng.choice(b.shape[0], subset_size, replace=False)]
        estimates[i] = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(y, y),
                                     polynomial_kernel(x, y))
    return MetricResult(value=float(estimates.mean()), std=float(estimates.std()),
                        num_samples_a=a.shape[0], num_samples_b=b.shape[0],
                        details={"num_subsets": num_subsets, "subset_size": subset_size})


# ------------------------------------------------------------------ classifier score
def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _score_of(log_p):
    """``exp(mean_x KL(p(y|x) || p(y)))`` with ``p(y)`` the mean of ``p(y|x)`` over the rows."""
    p = np.exp(log_p)
    log_marginal = np.log(p.mean(axis=0))
    # 0 * log 0 = 0: where p(y|x) underflows to 0 its term vanishes.
    kl = np.sum(np.where(p > 0, p * (log_p - log_marginal), 0.0), axis=1)
    return float(np.exp(kl.mean()))


def classifier_score(logits, splits=1):
    """Inception Score style ``exp(E_x KL(p(y|x) || p(y)))`` (Salimans et al. 2016, Sec. 4).

    ``p(y|x) = softmax(logits)``; ``p(y)`` is its mean over the samples of a split.
    Ranges from 1 (every prediction equal to the marginal) to ``K`` (confident and
    spread evenly over ``K`` classes). Log-probabilities are valid logits, so
    ``np.log(probabilities)`` works too.

    Args:
      logits: ``[N, K]`` classifier logits of generated samples.
      splits: split the samples into this many contiguous, near-equal parts
        (``numpy.array_split``; Salimans et al. used 10 splits of 5,000) and score each.

    Returns:
      :class:`MetricResult`: mean over splits, ``std`` over splits (``None`` when
      ``splits == 1``), ``num_samples_a = N``, ``details = {"splits": splits}``.

    Raises:
      ValueError: for non-2-D logits, nan/inf, or a split with fewer than 1 sample.
    """
    logits = _as_features(logits, "logits", min_samples=1)
    splits = _check_positive_int(splits, "splits")
    if splits > logits.shape[0]:
        raise ValueError(f"splits={splits} exceeds the {logits.shape[0]} samples; every split "
                         "needs at least one sample.")
    log_p = _log_softmax(logits)
    scores = np.array([_score_of(part) for part in np.array_split(log_p, splits)])
    return MetricResult(value=float(scores.mean()),
                        std=float(scores.std()) if splits > 1 else None,
                        num_samples_a=logits.shape[0], details={"splits": splits})


# ------------------------------------------------------------------ precision / recall
def _row_block(num_columns, batch_size):
    if batch_size is not None:
        return _check_positive_int(batch_size, "batch_size")
    return max(1, _MAX_BLOCK_ENTRIES // max(1, num_columns))


def _squared_distances(x, y, y_sq_norms):
    d = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ y.T) + y_sq_norms[None, :]
    return np.maximum(d, 0.0)


def knn_radii(features, k, batch_size=None):
    """Squared distance from each row to its ``k``-th nearest other row.

    The row itself (distance 0) is not counted: the radius is the ``(k+1)``-th
    smallest distance including self, as in the reference implementation of
    Kynkaanniemi et al. 2019. Computed in row blocks of ``batch_size`` (default: as
    many rows as keep a block under 2^24 entries).
    """
    n = features.shape[0]
    sq_norms = (features * features).sum(axis=1)
    radii = np.empty(n, dtype=np.float64)
    step = _row_block(n, batch_size)
    for start in range(0, n, step):
        block = _squared_distances(features[start:start + step], features, sq_norms)
        radii[start:start + step] = np.partition(block, k, axis=1)[:, k]
    return radii


def _fraction_inside(points, centres, centre_radii, batch_size):
    """Fraction of ``points`` within ``sqrt(centre_radii[j])`` of some centre ``j``."""
    sq_norms = (centres * centres).sum(axis=1)
    inside = 0
    step = _row_block(centres.shape[0], batch_size)
    for start in range(0, points.shape[0], step):
        block = _squared_distances(points[start:start + step], centres, sq_norms)
        inside += int(np.any(block <= centre_radii[None, :], axis=1).sum())
    return inside / points.shape[0]


def precision_recall(real_features, fake_features, k=3, batch_size=None):
    """Improved precision and recall (Kynkaanniemi et al. 2019, Sec. 3, Eqs. 1-3).

    The real manifold is the union of balls around each real feature vector whose
    radius is the distance to its ``k``-th nearest real neighbour; likewise for the
    generated (fake) manifold. Precision is the fraction of fake samples inside the
    real manifold (quality), recall the fraction of real samples inside the fake
    manifold (coverage). The paper uses ``k = 3`` and 50,000 samples per set.

    Pairwise distances are computed in blocks of ``batch_size`` rows, so memory is
    ``O(batch_size * N)`` instead of ``O(N^2)``.

    Args:
      real_features: ``[N_r, D]``, ``N_r > k``.
      fake_features: ``[N_f, D]``, ``N_f > k``.
      k: neighbourhood size (>= 1).
      batch_size: rows per distance block; ``None`` picks a block of at most 2^24
        entries (128 MiB).

    Returns:
      :class:`PrecisionRecall`.

    Raises:
      ValueError: for bad shapes, ``k >= N``, or non-finite features.
    """
    k = _check_positive_int(k, "k")
    real = _as_features(real_features, "real_features", min_samples=k + 1)
    fake = _as_features(fake_features, "fake_features", min_samples=k + 1)
    _same_dim(real, fake, ("real_features", "fake_features"))
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    precision = _fraction_inside(fake, real, real_radii, batch_size)
    recall = _fraction_inside(real, fake, fake_radii, batch_size)
    return PrecisionRecall(precision=precision, recall=recall, k=k,
                           num_real=real.shape[0], num_fake=fake.shape[0])


# ------------------------------------------------------------------ conditional quality
def _as_labels(labels, name, num_classes=None):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a vector [N] of integer labels, got shape "
                         f"{labels.shape}; pass indices, not one-hot rows (use argmax).")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        as_int = labels.astype(np.int64)
        if not np.array_equal(as_int, labels):
            raise ValueError(f"{name} must hold integer labels, got non-integer values.")
        labels = as_int
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} has negative labels (min {labels.min()}).")
    if num_classes is not None and labels.size and labels.max() >= num_classes:
        raise ValueError(f"{name} has label {labels.max()} outside 0..{num_classes - 1}.")
    return labels


def label_accuracy(classifier_logits, requested_labels):
    """Fraction of generated samples the classifier assigns to the requested label.

    For class-conditional generators (conditional GAN, AC-GAN): generate with
    labels ``y``, classify, and count ``argmax(logits) == y``. Ties in the logits go
    to the lowest class index (``numpy.argmax``).

    Args:
      classifier_logits: ``[N, K]`` logits (or probabilities) of the samples.
      requested_labels: ``[N]`` integer labels the samples were generated for.

    Returns:
      :class:`MetricResult` with ``value`` in [0, 1] and ``num_samples_a = N``.
    """
    logits = _as_features(classifier_logits, "classifier_logits", min_samples=1)
    labels = _as_labels(requested_labels, "requested_labels", num_classes=logits.shape[1])
    if labels.shape[0] != logits.shape[0]:
        raise ValueError(f"classifier_logits has {logits.shape[0]} rows but requested_labels "
                         f"has {labels.shape[0]} entries.")
    correct = np.argmax(logits, axis=1) == labels
    return MetricResult(value=float(correct.mean()), num_samples_a=labels.shape[0])


def categorical_code_accuracy(code_indices, labels, num_categories, num_classes=None):
    """Accuracy of a categorical latent code after the best one-to-one code->class matching.

    InfoGAN (Chen et al. 2016, Sec. 7.2) reports how well the categorical code
    ``c`` matches digit classes; the code's values are unordered, so each value
    is matched to one class by maximising the number of agreeing samples over all
    one-to-one matchings (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``
    on the ``[num_categories, num_classes]`` contingency table). Unmatched code
    values (when ``num_categories > num_classes``) count as wrong.

    Args:
      code_indices: ``[N]`` code value of each sample, in ``0..num_categories-1``.
      labels: ``[N]`` class of each sample -- the true label (for codes inferred
        from real data by Q) or a classifier's prediction (for generated samples).
      num_categories: size of the categorical code.
      num_classes: number of classes; defaults to ``num_categories``.

    Returns:
      :class:`MetricResult` with the accuracy in [0, 1], ``num_samples_a = N`` and
      ``details = {"assignment": {code value: class}}``.
    """
    num_categories = _check_positive_int(num_categories, "num_categories")
    num_classes = num_categories if num_classes is None else _check_positive_int(
        num_classes, "num_classes")
    codes = _as_labels(code_indices, "code_indices", num_classes=num_categories)
    labels = _as_labels(labels, "labels", num_classes=num_classes)
    if codes.shape[0] != labels.shape[0]:
        raise ValueError(f"code_indices has {codes.shape[0]} entries but labels has "
                         f"{labels.shape[0]}.")
    if codes.shape[0] == 0:
        raise ValueError("code_indices is empty; need at least one sample.")
    table = np.zeros((num_categories, num_classes), dtype=np.int64)
    np.add.at(table, (codes, labels), 1)
    rows, cols = scipy.optimize.linear_sum_assignment(table, maximize=True)
    matched = int(table[rows, cols].sum())
    return MetricResult(value=matched / codes.shape[0], num_samples_a=codes.shape[0],
                        details={"assignment": {int(r): int(c) for r, c in zip(rows, cols)}})
