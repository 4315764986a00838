"""Shared pieces of the experiments: the run context, claims with verdicts, plots, data.

An experiment module (one per claim family, see :mod:`tfgan_pipeline.experiments`)
states its thresholds as module constants *before* anything runs, trains the
library's own models, and returns an :class:`Outcome`: what was run, the measured
figures, the plots it saved and one :class:`Claim` per measurable statement, each
with its per-seed values, the rule it is judged by and whether it held.
:func:`tfgan_pipeline.experiments.runner.run_experiments` writes that outcome as
``<output_dir>/<name>/result.json`` with the seeds, steps and wall time.

Spread: every claim reports the mean and the sample standard deviation
(``ddof=1``; 0 for a single value) of its per-seed values, plus their min and max.
"""

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import time

import numpy as np

#: The experiments in the issue's order: (number, name, module, data it needs); the
#: runner and the report both read it from here.
REGISTRY = (
    (1, "optimal_discriminator", "tfgan_pipeline.experiments.optimal_discriminator", ()),
    (2, "diminished_gradient", "tfgan_pipeline.experiments.diminished_gradient", ()),
    (3, "kl_direction", "tfgan_pipeline.experiments.kl_direction", ()),
    (4, "mode_collapse", "tfgan_pipeline.experiments.mode_collapse", ()),
    (5, "wasserstein_quality", "tfgan_pipeline.experiments.wasserstein_quality", ("mnist",)),
    (6, "infogan_codes", "tfgan_pipeline.experiments.infogan_codes", ("mnist",)),
    (7, "conditioning", "tfgan_pipeline.experiments.conditioning", ("mnist",)),
    (8, "pix2pix_ablations", "tfgan_pipeline.experiments.pix2pix_ablations", ("maps",)),
)
NAMES = tuple(name for _, name, _, _ in REGISTRY)


def mean_std(values):
    """``(mean, sample std)`` of finite ``values`` (std 0 for one value; nan for none)."""
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), std


def to_jsonable(value):
    """Numpy scalars/arrays, tuples and non-finite floats -> plain JSON values (nan -> None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def write_json(path, payload):
    """Writes ``payload`` as indented JSON atomically (temporary file, then rename)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(payload), f, indent=2, sort_keys=False, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)
    return path


@dataclasses.dataclass(frozen=True)
class Claim:
    """One measurable statement from the literature and its verdict on our runs.

    Attributes:
      statement: the claim, in one sentence.
      source: paper and section.
      measure: what number was measured (name and unit).
      threshold: the rule deciding the verdict, stated before the run (it quotes
        the module constant it comes from).
      values: the measured number, one per seed (or per run unit, see ``unit``).
      held: whether the rule held for the mean; ``None`` if it could not be decided.
      note: what we saw, in words (always given when the claim does not hold).
      unit: what one value is (``"seed"`` by default).
    """

    statement: str
    source: str
    measure: str
    threshold: str
    values: tuple
    held: bool
    note: str = ""
    unit: str = "seed"

    def to_dict(self):
        mean, std = mean_std(self.values)
        finite = [v for v in self.values if v is not None and math.isfinite(v)]
        return {"statement": self.statement, "source": self.source, "measure": self.measure,
                "threshold": self.threshold, "values": list(self.values), "unit": self.unit,
                "mean": mean, "std": std,
                "min": min(finite) if finite else None, "max": max(finite) if finite else None,
                "held": self.held, "note": self.note}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What an experiment's ``run`` returns (the runner adds seeds, times, paths).

    Attributes:
      what_was_run: one paragraph: data, models, objectives, steps, seeds.
      claims: the :class:`Claim` list; the experiment held if every claim held.
      figures: measured numbers (JSON-ready), e.g. curves over training per seed.
      steps: training steps per run unit, e.g. ``{"generator_steps": 3000}``.
      notes: anything a reader must know (departures from the paper, budget cuts).
      tables: extra tables for the report, each ``{"title", "columns", "rows"}`` with
        rows of already formatted cells (e.g. the per-objective mean ± std table).
    """

    what_was_run: str
    claims: tuple
    figures: dict
    steps: dict
    notes: tuple = ()
    tables: tuple = ()


def pm(values, digits=3):
    """``"mean ± std"`` of ``values`` as text, ``digits`` significant digits."""
    mean, std = mean_std(values)
    return f"{mean:.{digits}g} ± {std:.{digits}g}"


class Context:
    """Where an experiment writes, which seeds it uses and the shared data paths.

    Attributes:
      name: the experiment's name.
      output_dir: its folder (``<output_dir>/<name>``), created by the runner.
      cache_dir: ``<output_dir>/_cache``, shared by experiments (feature
        classifier, preprocessed pairs); safe to delete.
      seeds: the seeds to run (``0 .. n-1``).
      budget: ``"full"`` or ``"smoke"``.
      mnist_dir: folder of MNIST IDX files.
      maps_dir: folder of pix2pix A|B pairs.
      plots: file names (relative to ``output_dir``) of the PNGs saved so far.
    """

    def __init__(self, name, output_dir, cache_dir, seeds, budget, mnist_dir=None,
                 maps_dir=None, log=print):
        self.name = name
        self.output_dir = output_dir
        self.cache_dir = cache_dir
        self.seeds = tuple(int(s) for s in seeds)
        self.budget = budget
        self.mnist_dir = mnist_dir
        self.maps_dir = maps_dir
        self.plots = []
        self._log = log
        self._start = time.time()

    def log(self, message):
        """A progress line, prefixed with the experiment and the elapsed time."""
        elapsed = time.time() - self._start
        self._log(f"[{self.name} {elapsed:6.1f}s] {message}")

    def path(self, *parts):
        return os.path.join(self.output_dir, *parts)

    @contextlib.contextmanager
    def figure(self, filename, *, nrows=1, ncols=1, figsize=(6.4, 4.2), title=None,
               caption=""):
        """``with ctx.figure("x.png") as (fig, axes):`` draws, saves (Agg, 100 dpi), closes.

        The file name is recorded in :attr:`plots` with its ``caption``.
        """
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        try:
            yield fig, axes
            if title:
                fig.suptitle(title)
            fig.tight_layout()
            fig.savefig(self.path(filename), dpi=100)
            self.plots.append({"file": filename, "caption": caption})
        finally:
            plt.close(fig)

    def save_image_grid(self, filename, images, nrows, caption="", value_range=(-1.0, 1.0),
                        pad=2):
        """Saves ``images`` ``[N, H, W, C]`` as one PNG grid of ``nrows`` rows (row-major)."""
        from PIL import Image

        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., None]
        n, h, w, c = images.shape
        ncols = int(math.ceil(n / nrows))
        low, high = value_range
        scaled = np.clip((images - low) / (high - low), 0.0, 1.0)
        grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), np.float32)
        for i in range(n):
            r, col = divmod(i, ncols)
            y, x = pad + r * (h + pad), pad + col * (w + pad)
            grid[y:y + h, x:x + w] = scaled[i]
        array = (grid * 255.0 + 0.5).astype(np.uint8)
        Image.fromarray(array[..., 0] if c == 1 else array).save(self.path(filename))
        self.plots.append({"file": filename, "caption": caption})
        return filename


# ----------------------------------------------------------------- shared helpers
def fresh_session(seed):
    """Clears Keras' global state and seeds Python, numpy and TensorFlow with ``seed``."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(int(seed))


def spearman(a, b):
    """Spearman rank correlation of two equal-length sequences (nan if undefined)."""
    import scipy.stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return math.nan
    return float(scipy.stats.spearmanr(a[keep], b[keep]).statistic)


def load_mnist(folder):
    """Real MNIST digits as float32 ``[N, 28, 28, 1]`` in ``[-1, 1]`` and int64 labels."""
    from tfgan_pipeline.data import mnist

    images, labels = mnist.load_mnist_idx(folder)
    return images[..., None].astype(np.float32) / 127.5 - 1.0, labels


def mnist_classifier(ctx, epochs):
    """The digit classifier shared by the MNIST experiments (trained once, cached).

    A :func:`tfgan_pipeline.evaluation.classifier.build_mnist_classifier` CNN trained
    with :func:`~tfgan_pipeline.evaluation.classifier.train_classifier` on every real
    digit in ``ctx.mnist_dir`` (the 10k test digits are all the real data there is,
    so it is scored on the digits it saw; its accuracy is reported with that
    caveat). Cached in ``ctx.cache_dir`` keyed by the folder, the digit count and
    ``epochs``.

    Returns:
      ``(FeatureExtractor, info)``: ``extractor(images) -> (features, logits)`` and
      ``{"train_accuracy", "epochs", "num_images", "seconds", "reused"}``.
    """
    import keras

    from tfgan_pipeline.evaluation import classifier

    images, labels = load_mnist(ctx.mnist_dir)
    folder = hashlib.sha1(os.path.abspath(ctx.mnist_dir).encode()).hexdigest()[:10]
    key = f"mnist_classifier_e{epochs}_n{len(labels)}_{folder}"
    path = os.path.join(ctx.cache_dir, key + ".keras")
    info_path = os.path.join(ctx.cache_dir, key + ".json")
    if os.path.exists(path) and os.path.exists(info_path):
        with open(info_path, encoding="utf-8") as f:
            info = dict(json.load(f), reused=True)
        model = keras.saving.load_model(path)
    else:
        start = time.time()
        model = classifier.train_classifier((images, labels), epochs=epochs, seed=0)
        logits = model.predict(images, batch_size=512, verbose=0)
        info = {"train_accuracy": float(np.mean(np.argmax(logits, 1) == labels)),
                "epochs": epochs, "num_images": int(len(labels)),
                "seconds": time.time() - start}
        classifier.save_classifier(model, path)
        write_json(info_path, info)
        info["reused"] = False
    return classifier.load_feature_fn(model), info


def classify(extractor, images, batch_size=500):
    """``(features, predicted labels)`` of ``images`` through a :class:`FeatureExtractor`."""
    from tfgan_pipeline.evaluation import classifier

    features, logits = classifier.compute_features(extractor, images, batch_size=batch_size)
    return features, np.argmax(logits, axis=1)


def style_measures(images):
    """Per-image handwriting style of ``[N, H, W, 1]`` digits in ``[-1, 1]``.

    * ``slant``: horizontal shear of the ink, ``mu11 / mu02`` of the intensity
      distribution (second central moments, ``y`` growing downwards; positive
      leans right), the moment-based deskewing measure used for MNIST since
      LeCun et al.'s preprocessing;
    * ``ink``: mean intensity in ``[0, 1]`` (thicker strokes, more ink).

    Returns:
      ``{"slant": [N], "ink": [N]}`` float64.
    """
    w = np.clip((np.asarray(images, np.float64)[..., 0] + 1.0) / 2.0, 0.0, 1.0)
    n, h, width = w.shape
    ys, xs = np.mgrid[0:h, 0:width].astype(np.float64)
    mass = w.sum(axis=(1, 2)) + 1e-9
    cy = (w * ys).sum(axis=(1, 2)) / mass
    cx = (w * xs).sum(axis=(1, 2)) / mass
    dy = ys[None] - cy[:, None, None]
    dx = xs[None] - cx[:, None, None]
    mu11 = (w * dx * dy).sum(axis=(1, 2)) / mass
    mu02 = (w * dy * dy).sum(axis=(1, 2)) / mass + 1e-9
    # y grows downwards: a stroke leaning right has x decreasing as y grows.
    return {"slant": -mu11 / mu02, "ink": w.mean(axis=(1, 2))}


def affine_generator(mean=None, std=None, name="affine_generator"):
    """A 1-D generator ``G(z) = a z + b`` on ``z ~ N(0, 1)``: ``p_g = N(b, a^2)`` exactly.

    The library's MLP generators have implicit densities; the theory experiments
    need ``p_g`` in closed form, so they use this one-layer ``keras.Model``
    (latent_dim 1). With ``mean``/``std`` given, ``b``/``a`` start there; otherwise
    Keras' default initialisers draw them.
    """
    import keras

    model = keras.Sequential([keras.Input((1,), name="z"),
                              keras.layers.Dense(1, name="affine")], name=name)
    if mean is not None and std is not None:
        model.get_layer("affine").set_weights([np.array([[std]], np.float32),
                                               np.array([mean], np.float32)])
    return model


def affine_parameters(generator):
    """``(mean, std)`` of the Gaussian an :func:`affine_generator` produces."""
    kernel, bias = generator.get_layer("affine").get_weights()
    return float(bias[0]), float(abs(kernel[0, 0]))
