"""The theory of the original GAN on known distributions: KL, JS, D* and the value at D*.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Sec. 4:

* Eq. 1, the value function ``V(D, G) = E_pdata[log D(x)] + E_pg[log(1 - D(x))]``
  (the expectation over ``z`` written over ``x = G(z) ~ p_g``, as in the proof of
  Prop. 1) -- :func:`value_function`;
* Prop. 1, the optimal discriminator ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``
  -- :func:`optimal_discriminator`;
* Thm. 1, the value at ``D*``: ``C(G) = -log 4 + 2 JSD(p_data || p_g)``, whose
  global minimum ``-log 4`` is reached exactly when ``p_g = p_data`` --
  :func:`optimal_value`.

All logarithms are natural (nats), so ``0 <= JSD <= log 2``.

Two representations are supported:

* discrete distributions: arrays of probabilities of the same shape, each summing
  to 1 (within ``atol``);
* densities sampled on a 1-D grid ``x`` (or with a constant spacing ``dx``),
  integrated with the trapezoid rule; each must integrate to 1 within
  ``normalization_tol`` (widen or refine the grid otherwise).

Conventions: ``0 log 0 = 0`` and ``0 log(0/q) = 0``, so points where ``p = 0`` add
nothing; ``p log(p/0) = +inf``, so ``KL(p || q)`` is ``inf`` when ``p`` puts mass
where ``q`` has none. ``JSD`` is always finite. Where ``p_data = p_g = 0``, ``D*``
is undefined (every value is optimal, the point carries no mass); we return 0.5,
the answer of a discriminator that cannot tell the two apart.
"""

import math

import numpy as np

#: ``log 4``: ``-LOG_4`` is the global minimum of ``C(G)`` (Thm. 1).
LOG_4 = math.log(4.0)


# ------------------------------------------------------------------ checks
def _as_values(values, name):
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError(f"{name} is empty.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has non-finite entries (nan or inf).")
    if np.any(values < 0):
        raise ValueError(f"{name} has negative entries (min {values.min():.3g}); "
                         "probabilities and densities must be >= 0.")
    return values


def _same_shape(a, b, names):
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got "
                         f"{a.shape} and {b.shape}.")


def _as_distribution(p, name, atol):
    p = _as_values(p, name)
    total = float(p.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"{name} must sum to 1 (a discrete distribution) but sums to {total:.8g}; "
            f"normalise it first ({name} / {name}.sum()).")
    return p


def _integrate(values, x, dx):
    """Trapezoid integral of ``values`` over the grid ``x`` or the spacing ``dx``."""
    if dx is not None:
        return float(np.trapezoid(values, dx=dx))
    return float(np.trapezoid(values, x=x))


def _check_grid(n, x, dx):
    if (x is None) == (dx is None):
        raise ValueError("Pass exactly one of x (the grid points) and dx (a constant spacing).")
    if dx is not None:
        dx = float(dx)
        if not (math.isfinite(dx) and dx > 0):
            raise ValueError(f"dx must be a positive finite spacing, got {dx}.")
        return None, dx
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] != n:
        raise ValueError(f"x must be a 1-D grid with one point per density value ({n}), got "
                         f"shape {x.shape}.")
    if not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError("x must be finite and strictly increasing.")
    return x, None


def _as_density(values, name, x, dx, normalization_tol):
    values = _as_values(values, name)
    if values.ndim != 1 or values.shape[0] < 2:
        raise ValueError(f"{name} must be a 1-D array of density values on at least 2 grid "
                         f"points, got shape {values.shape}.")
    total = _integrate(values, x, dx)
    if abs(total - 1.0) > normalization_tol:
        raise ValueError(
            f"{name} integrates to {total:.6g} on the grid, not 1 (tolerance "
            f"{normalization_tol:g}); widen the grid to cover the tails or refine it.")
    return values


def _grid_pair(p_values, q_values, names, x, dx, normalization_tol):
    shape = np.shape(p_values)
    if len(shape) != 1 or shape[0] < 2:
        raise ValueError(f"{names[0]} must be a 1-D array of density values on at least 2 "
                         f"grid points, got shape {shape}.")
    x, dx = _check_grid(shape[0], x, dx)
    p = _as_density(p_values, names[0], x, dx, normalization_tol)
    q = _as_density(q_values, names[1], x, dx, normalization_tol)
    _same_shape(p, q, names)
    return p, q, x, dx


# -------------------------------------------------------------- pointwise
def _kl_terms(p, q):
    """Pointwise ``p log(p / q)`` with ``0 log(0/q) = 0`` and ``p log(p/0) = inf``."""
    out = np.zeros_like(p)
    mask = p > 0
    with np.errstate(divide="ignore"):
        out[mask] = p[mask] * (np.log(p[mask]) - np.log(q[mask]))
    return out


def _js_terms(p, q):
    """Pointwise integrand of ``JSD``: ``(p log(p/m) + q log(q/m)) / 2``, ``m = (p+q)/2``."""
    m = 0.5 * (p + q)
    return 0.5 * (_kl_terms(p, m) + _kl_terms(q, m))


# ---------------------------------------------------------------- discrete
def kl_divergence(p, q, atol=1e-6):
    """``KL(p || q) = sum p log(p / q)`` in nats for discrete distributions.

    Args:
      p, q: probabilities of the same shape, each summing to 1 within ``atol``.

    Returns:
      A float in ``[0, inf]``; ``inf`` if ``p > 0`` somewhere ``q = 0``.
    """
    p = _as_distribution(p, "p", atol)
    q = _as_distribution(q, "q", atol)
    _same_shape(p, q, ("p", "q"))
    return max(0.0, float(np.sum(_kl_terms(p, q))))


def js_divergence(p, q, atol=1e-6):
    """Jensen-Shannon divergence ``(KL(p||m) + KL(q||m)) / 2``, ``m = (p + q) / 2``.

    Returns:
      A float in ``[0, log 2]``: 0 iff ``p = q``, ``log 2`` for disjoint supports.
    """
    p = _as_distribution(p, "p", atol)
    q = _as_distribution(q, "q", atol)
    _same_shape(p, q, ("p", "q"))
    return float(np.clip(np.sum(_js_terms(p, q)), 0.0, math.log(2.0)))


# -------------------------------------------------------------------- grid
def kl_divergence_on_grid(p_values, q_values, x=None, dx=None, normalization_tol=1e-3):
    """``KL(p || q) = integral p log(p / q)`` for densities on a 1-D grid (trapezoid rule).

    Args:
      p_values, q_values: density values ``[n]`` at the grid points.
      x: the grid ``[n]`` (strictly increasing); or
      dx: a constant grid spacing.
      normalization_tol: how far from 1 each density's integral may be.

    Returns:
      A float in ``[0, inf]``.
    """
    p, q, x, dx = _grid_pair(p_values, q_values, ("p_values", "q_values"), x, dx,
                             normalization_tol)
    terms = _kl_terms(p, q)
    if np.isinf(terms).any():
        return math.inf
    return max(0.0, _integrate(terms, x, dx))


def js_divergence_on_grid(p_values, q_values, x=None, dx=None, normalization_tol=1e-3):
    """Jensen-Shannon divergence of two densities on a 1-D grid; a float in ``[0, log 2]``.

    Arguments as for :func:`kl_divergence_on_grid`.
    """
    p, q, x, dx = _grid_pair(p_values, q_values, ("p_values", "q_values"), x, dx,
                             normalization_tol)
    return float(np.clip(_integrate(_js_terms(p, q), x, dx), 0.0, math.log(2.0)))


# ----------------------------------------------------------------- the GAN
def optimal_discriminator(p_data, p_g):
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Prop. 1), element-wise.

    Args:
      p_data, p_g: non-negative densities or probabilities of the same shape,
        evaluated at the same points (no normalisation is required).

    Returns:
      float64 array in ``[0, 1]``; 0.5 where both are 0 (see the module docstring).
    """
    p_data = _as_values(p_data, "p_data")
    p_g = _as_values(p_g, "p_g")
    _same_shape(p_data, p_g, ("p_data", "p_g"))
    total = p_data + p_g
    out = np.full_like(total, 0.5)
    mask = total > 0
    out[mask] = p_data[mask] / total[mask]
    return out


def _weighted_log(weights, values):
    """``weights * log(values)`` with ``0 * log(0) = 0`` (and ``w log 0 = -inf`` for w > 0)."""
    out = np.zeros_like(weights)
    mask = weights > 0
    with np.errstate(divide="ignore"):
        out[mask] = weights[mask] * np.log(values[mask])
    return out


def value_function(d_values, p_data, p_g, x=None, dx=None, atol=1e-6, normalization_tol=1e-3):
    """``V(D, G) = E_pdata[log D] + E_pg[log(1 - D)]`` (Eq. 1) for a given ``D``.

    With ``x`` or ``dx``, ``p_data``/``p_g`` are densities on a 1-D grid and the
    expectations are trapezoid integrals; with neither, they are discrete
    distributions and the expectations are sums.

    Args:
      d_values: discriminator outputs ``D(x)`` in ``[0, 1]`` (probabilities, i.e.
        ``sigmoid(logits)``), same shape as ``p_data``.
      p_data, p_g: data and generator distributions (see above).
      x, dx: the grid or its spacing (density case only).
      atol: tolerance on the sums of discrete distributions.
      normalization_tol: tolerance on the integrals of densities.

    Returns:
      A float ``<= C(G)`` (:func:`optimal_value`); ``-inf`` if ``D`` is exactly 0
      where ``p_data > 0`` (or 1 where ``p_g > 0``).
    """
    d = np.asarray(d_values, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0) or np.any(d > 1):
        raise ValueError("d_values must be probabilities in [0, 1] (apply a sigmoid to "
                         "logits first).")
    if x is None and dx is None:
        p = _as_distribution(p_data, "p_data", atol)
        q = _as_distribution(p_g, "p_g", atol)
        _same_shape(p, q, ("p_data", "p_g"))
        _same_shape(p, d, ("p_data", "d_values"))
        terms = _weighted_log(p, d) + _weighted_log(q, 1.0 - d)
        return float(np.sum(terms))
    p, q, x, dx = _grid_pair(p_data, p_g, ("p_data", "p_g"), x, dx, normalization_tol)
    _same_shape(p, d, ("p_data", "d_values"))
    terms = _weighted_log(p, d) + _weighted_log(q, 1.0 - d)
    if np.isneginf(terms).any():
        return -math.inf
    return _integrate(terms, x, dx)


def optimal_value(p_data, p_g, x=None, dx=None, atol=1e-6, normalization_tol=1e-3):
    """``C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)`` (Thm. 1).

    Discrete distributions when neither ``x`` nor ``dx`` is given; densities on a
    1-D grid otherwise (as in :func:`value_function`). Equals ``-log 4`` exactly
    when ``p_g = p_data`` and lies in ``[-log 4, 0]``.
    """
    if x is None and dx is None:
        jsd = js_divergence(p_data, p_g, atol=atol)
    else:
        jsd = js_divergence_on_grid(p_data, p_g, x=x, dx=dx,
                                    normalization_tol=normalization_tol)
    return -LOG_4 + 2.0 * jsd
