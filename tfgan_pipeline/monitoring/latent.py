"""Visual tools for a trained generator: latent interpolation, walks, class grids, code sweeps.

Papers:
  * Shoemake, "Animating Rotation with Quaternion Curves", SIGGRAPH 1985 — the
    spherical linear interpolation (slerp) formula.
  * White, "Sampling Generative Networks", 2016, Sec. 2.1 — why latent paths should
    follow the sphere: under a Gaussian prior, points on a straight line between two
    samples have a norm far below the typical ``sqrt(latent_dim)``, so linear
    interpolation walks through regions the generator rarely saw.
  * Radford, Metz, Chintala, "DCGAN", ICLR 2016, Sec. 6.1 — walking in the latent
    space as a check for memorisation (smooth transitions, no sharp jumps).
  * Mirza & Osindero 2014 / Odena et al. 2017 — class-conditional sample grids.
  * Chen et al., "InfoGAN", NeurIPS 2016, Fig. 2 — sweeping one latent code with the
    noise and the other codes fixed.

The vector maths (:func:`linear_interpolation`, :func:`spherical_interpolation`,
:func:`latent_walk`) are pure numpy functions. The ``*_grid`` / ``*_sweep`` helpers
run a model's generator and return images ``[rows * columns, H, W, C]`` in row-major
order (row ``r``, column ``c`` at index ``r * columns + c``); given ``path`` they also
write the tiled grid as a PNG (:func:`tfgan_pipeline.monitoring.images.image_grid`).

Models are read through their declared ``conditioning`` (the keywords their
``generate`` takes), not their classes: ``categorical`` / ``continuous`` (InfoGAN:
``latent_dim`` is the noise size and the codes are set through ``generate``),
``labels`` (class-conditional: ``generate(n, noise=z, labels=...)``), otherwise
``generate(n, noise=z)``.
"""

import numpy as np

from tfgan_pipeline.monitoring import images as images_lib

#: Below this ``sin(angle)`` two latent vectors count as (anti)parallel and slerp
#: falls back to linear interpolation (the slerp weights divide by ``sin(angle)``).
PARALLEL_EPSILON = 1e-6


# ------------------------------------------------------------------ vector maths
def _endpoints(z0, z1):
    z0 = np.asarray(z0, np.float64)
    z1 = np.asarray(z1, np.float64)
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(
            "Interpolation needs two latent vectors of the same shape [latent_dim]; got "
            f"shapes {z0.shape} and {z1.shape}. Interpolate batches row by row.")
    return z0, z1


def _fractions(num_steps):
    if isinstance(num_steps, bool) or int(num_steps) != num_steps or num_steps < 2:
        raise ValueError(
            f"num_steps must be an integer >= 2 (both end points included), got {num_steps!r}.")
    return np.linspace(0.0, 1.0, int(num_steps))


def linear_interpolation(z0, z1, num_steps):
    """Points ``(1 - t) z0 + t z1`` for ``num_steps`` evenly spaced ``t`` in ``[0, 1]``.

    Args:
      z0, z1: latent vectors ``[latent_dim]``.
      num_steps: number of points, end points included (>= 2).

    Returns:
      float32 ``[num_steps, latent_dim]``; row 0 is ``z0`` and the last row ``z1``.
    """
    z0, z1 = _endpoints(z0, z1)
    t = _fractions(num_steps)[:, None]
    return ((1.0 - t) * z0 + t * z1).astype(np.float32)


def spherical_interpolation(z0, z1, num_steps):
    """Slerp: ``sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1`` (Shoemake 1985).

    ``w`` is the angle between ``z0`` and ``z1``. For end points of equal norm every
    point keeps that norm (the path is an arc of the sphere); otherwise the norm
    varies smoothly between the two. When the vectors are (anti)parallel
    (``sin(w) < PARALLEL_EPSILON``) or one is zero, the arc is undefined and the
    result is :func:`linear_interpolation`.

    Args:
      z0, z1: latent vectors ``[latent_dim]``.
      num_steps: number of points, end points included (>= 2).

    Returns:
      float32 ``[num_steps, latent_dim]``; row 0 is ``z0`` and the last row ``z1``.
    """
    z0, z1 = _endpoints(z0, z1)
    t = _fractions(num_steps)[:, None]
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0.0 or n1 == 0.0:
        return linear_interpolation(z0, z1, num_steps)
    omega = np.arccos(np.clip(np.dot(z0 / n0, z1 / n1), -1.0, 1.0))
    sin_omega = np.sin(omega)
    if sin_omega < PARALLEL_EPSILON:
        return linear_interpolation(z0, z1, num_steps)
    out = (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / sin_omega
    return out.astype(np.float32)


INTERPOLATIONS = {"lerp": linear_interpolation, "linear": linear_interpolation,
                  "slerp": spherical_interpolation, "spherical": spherical_interpolation}


def latent_walk(z, dim, values):
    """Copies of ``z`` with coordinate ``dim`` set to each of ``values`` (one row each).

    Args:
      z: latent vector ``[latent_dim]``.
      dim: index of the coordinate to vary (negative indices count from the end).
      values: the values it takes, e.g. ``np.linspace(-3, 3, 7)``.

    Returns:
      float32 ``[len(values), latent_dim]``; every other coordinate equals ``z``'s.
    """
    z = np.asarray(z, np.float32)
    if z.ndim != 1:
        raise ValueError(f"latent_walk needs one latent vector [latent_dim], got shape {z.shape}.")
    if isinstance(dim, bool) or int(dim) != dim or not -z.shape[0] <= dim < z.shape[0]:
        raise ValueError(
            f"dim must be an integer index into a latent vector of size {z.shape[0]}, got {dim!r}.")
    values = np.asarray(values, np.float32).reshape(-1)
    if values.size == 0:
        raise ValueError("latent_walk needs at least one value for the walked coordinate.")
    out = np.tile(z[None], [values.size, 1])
    out[:, int(dim)] = values
    return out


# -------------------------------------------------------------- model helpers
def _conditioning(model):
    return tuple(getattr(model, "conditioning", ()))


def _is_infogan(model):
    return "categorical" in _conditioning(model)


def _is_class_conditional(model):
    return "labels" in _conditioning(model)


def _latent_dim(model, what):
    dim = getattr(model, "latent_dim", None)
    if dim is None:
        raise ValueError(
            f"{what} needs a model with a latent space (latent_dim); "
            f"{type(model).__name__} has none (e.g. pix2pix: its noise is dropout).")
    return int(dim)


def _draw_latents(seed, shape):
    """Standard normal latents from numpy's PCG64 seeded with ``seed`` (reproducible)."""
    return np.random.default_rng(int(seed)).standard_normal(shape).astype(np.float32)


def _check_positive(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _infogan_codes(model, n, categorical=None, continuous=None):
    """Default InfoGAN codes: every categorical code 0, every continuous code 0."""
    num_codes = len(model.categorical_dims)
    cat = np.zeros([n, num_codes], np.int64) if categorical is None else categorical
    cont = np.zeros([n, model.continuous_dim], np.float32) if continuous is None else continuous
    return cat, cont


def _render(model, z, row_ids=None):
    """Runs the generator on latents ``z`` ``[N, latent_dim]`` with per-row conditioning.

    ``row_ids`` (ints ``[N]``) choose the class (conditional models) or the first
    categorical code (InfoGAN) of each sample, modulo the number of values; ``None``
    means class / code 0 everywhere. Returns a float32 numpy array.
    """
    z = np.asarray(z, np.float32)
    n = z.shape[0]
    row_ids = np.zeros([n], np.int64) if row_ids is None else np.asarray(row_ids, np.int64)
    if _is_infogan(model):
        cat, cont = _infogan_codes(model, n)
        if len(model.categorical_dims):
            cat[:, 0] = row_ids % model.categorical_dims[0]
        out = model.generate(n, categorical=cat, continuous=cont, noise=z)
    elif _is_class_conditional(model):
        out = model.generate(n, noise=z, labels=row_ids % int(model.num_classes))
    else:
        out = model.generate(n, noise=z)
    return np.asarray(out, np.float32)


def _finish(images, columns, path):
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"These grids need image samples [N, H, W, C]; the generator returned shape "
            f"{images.shape}. For 2-D toy data use images.scatter_plot instead.")
    if path is not None:
        images_lib.write_png(images_lib.image_grid(images, columns=columns), path)
    return images


# ------------------------------------------------------------------- grids
def interpolation_grid(model, num_rows, num_steps, method="slerp", seed=0, path=None):
    """Rows of images along latent paths between random end points.

    Row ``r`` interpolates between two latents drawn from ``N(0, I)`` (numpy,
    ``seed``); conditional models keep class ``r % num_classes`` along the row,
    InfoGAN keeps categorical code ``r % categorical_dims[0]`` and continuous codes 0.

    Args:
      model: a trained GAN with ``latent_dim``.
      num_rows: number of paths.
      num_steps: images per path, end points included (>= 2).
      method: ``"slerp"`` (spherical, default) or ``"lerp"`` (linear).
      seed: seed of the end points.
      path: optional PNG path for the tiled grid (``num_steps`` columns).

    Returns:
      float32 images ``[num_rows * num_steps, H, W, C]``, row-major.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"Unknown interpolation method {method!r}; choose one of "
                         f"{sorted(INTERPOLATIONS)}.")
    num_rows = _check_positive("num_rows", num_rows)
    _fractions(num_steps)
    latent_dim = _latent_dim(model, "interpolation_grid")
    ends = _draw_latents(seed, [num_rows, 2, latent_dim])
    z = np.concatenate([INTERPOLATIONS[method](a, b, num_steps) for a, b in ends])
    rows = np.repeat(np.arange(num_rows), int(num_steps))
    return _finish(_render(model, z, rows), int(num_steps), path)


def latent_walk_grid(model, dims, values, seed=0, path=None):
    """One row per latent coordinate in ``dims``, walking it through ``values``.

    Every row starts from the same latent vector (drawn with ``seed``), so rows
    differ only in which coordinate moves. Conditional models use class 0, InfoGAN
    categorical code 0 and continuous codes 0.

    Args:
      model: a trained GAN with ``latent_dim``.
      dims: coordinates to walk, e.g. ``[0, 1, 2]``.
      values: values each coordinate takes (the columns), e.g. ``np.linspace(-3, 3, 7)``.
      seed: seed of the base latent vector.
      path: optional PNG path for the tiled grid (``len(values)`` columns).

    Returns:
      float32 images ``[len(dims) * len(values), H, W, C]``, row-major.
    """
    latent_dim = _latent_dim(model, "latent_walk_grid")
    dims = [dims] if np.ndim(dims) == 0 else list(dims)
    if not dims:
        raise ValueError("latent_walk_grid needs at least one coordinate in dims.")
    base = _draw_latents(seed, [latent_dim])
    z = np.concatenate([latent_walk(base, d, values) for d in dims])
    columns = int(np.asarray(values).size)
    return _finish(_render(model, z), columns, path)


def class_conditional_grid(model, samples_per_class, seed=0, path=None):
    """Rows = classes, columns = latent vectors shared by every row.

    Column ``c`` uses the same ``z`` in every row, so a row shows one class and a
    column one "style" across classes (Mirza & Osindero 2014, Fig. 2).

    Args:
      model: a class-conditional GAN (``num_classes`` and
        ``generate(n, noise=z, labels=...)``: ConditionalGAN, ACGAN).
      samples_per_class: number of columns.
      seed: seed of the latent vectors.
      path: optional PNG path for the tiled grid.

    Returns:
      float32 images ``[num_classes * samples_per_class, H, W, C]``, row-major.
    """
    if not _is_class_conditional(model):
        raise TypeError(
            f"class_conditional_grid needs a class-conditional model with num_classes "
            f"(ConditionalGAN, ACGAN); got {type(model).__name__}. For InfoGAN use "
            "infogan_code_sweep(model, 'categorical').")
    num_classes = model.num_classes
    columns = _check_positive("samples_per_class", samples_per_class)
    latent_dim = _latent_dim(model, "class_conditional_grid")
    z = np.tile(_draw_latents(seed, [columns, latent_dim]), [int(num_classes), 1])
    rows = np.repeat(np.arange(int(num_classes)), columns)
    return _finish(_render(model, z, rows), columns, path)


def _parse_code(code):
    """``("categorical", k)`` or ``("continuous", j)`` from the ``code`` argument."""
    if isinstance(code, str):
        kind, _, index = code.partition(":")
        if kind in ("categorical", "continuous"):
            try:
                return kind, int(index or 0)
            except ValueError:
                pass
    elif isinstance(code, (int, np.integer)) and not isinstance(code, bool):
        return "continuous", int(code)
    raise ValueError(
        f"code must be 'categorical' (first categorical code), 'categorical:K', an int J "
        f"or 'continuous:J' (continuous code J); got {code!r}.")


def infogan_code_sweep(model, code="categorical", values=None, num_rows=8, seed=0, path=None):
    """InfoGAN Fig. 2: columns sweep one latent code, rows are different noise vectors.

    The swept code takes each of ``values`` (columns); the noise ``z`` differs per
    row (drawn with ``seed``) and is shared along a row. For a continuous sweep, row
    ``r`` uses categorical code 0 = ``r % categorical_dims[0]`` (so rows also show
    different classes, as in the paper); every other code is 0.

    Args:
      model: an InfoGAN (``categorical_dims``, ``continuous_dim`` and
        ``generate(n, categorical=, continuous=, noise=)``).
      code: ``"categorical"`` / ``"categorical:K"`` (categorical code K) or an int
        ``J`` / ``"continuous:J"`` (continuous code J).
      values: the code's values; default every category, or ``linspace(-2, 2, 9)``
        for a continuous code (beyond the ``U(-1, 1)`` prior, as the paper does).
      num_rows: number of noise vectors.
      seed: seed of the noise.
      path: optional PNG path for the tiled grid (``len(values)`` columns).

    Returns:
      float32 images ``[num_rows * len(values), H, W, C]``, row-major.
    """
    if not _is_infogan(model):
        raise TypeError(
            f"infogan_code_sweep needs an InfoGAN (categorical_dims, continuous_dim); got "
            f"{type(model).__name__}.")
    kind, index = _parse_code(code)
    num_rows = _check_positive("num_rows", num_rows)
    counts = (len(model.categorical_dims) if kind == "categorical"
              else int(model.continuous_dim))
    if not 0 <= index < counts:
        raise ValueError(f"{type(model).__name__} has {counts} {kind} code(s); code index "
                         f"{index} is out of range.")
    if values is None:
        values = (np.arange(model.categorical_dims[index]) if kind == "categorical"
                  else np.linspace(-2.0, 2.0, 9))
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        raise ValueError("infogan_code_sweep needs at least one value for the swept code.")
    columns = values.size
    n = num_rows * columns
    z = np.repeat(_draw_latents(seed, [num_rows, _latent_dim(model, "infogan_code_sweep")]),
                  columns, axis=0)
    cat, cont = _infogan_codes(model, n)
    rows = np.repeat(np.arange(num_rows), columns)
    if kind == "categorical":
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"categorical code values must be integers, got {values.dtype}.")
        cat[:, index] = np.tile(values, num_rows)
    else:
        if len(model.categorical_dims):
            cat[:, 0] = rows % model.categorical_dims[0]
        cont[:, index] = np.tile(values.astype(np.float32), num_rows)
    images = np.asarray(model.generate(n, categorical=cat, continuous=cont, noise=z),
                        np.float32)
    return _finish(images, columns, path)
