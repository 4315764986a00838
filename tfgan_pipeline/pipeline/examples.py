"""The data kinds ExampleGen produces, and how the Trainer and Evaluator read them back.

One class per kind, each with ``produce(params, uri, log) -> properties`` (the
ExampleGen executor's body for that kind) and ``open(uri, properties)`` (a reader
the family code uses: ``info`` plus ``train_dataset(...)`` / ``eval_batches(...)``):

* ``pairs`` — pix2pix pairs (Isola et al. 2017, App. 6.2): the Beam preprocessing of
  :mod:`tfgan_pipeline.preprocess` (validate, split, resize -> GZIP TFRecords,
  ``stats.json``, ``rejects.jsonl``) written into the Examples artifact;
* ``toy`` — 2-D / 1-D Gaussian mixtures (Metz et al. 2017): the mixture's definition
  (``mixture.json``); samples are drawn fresh from it (there is no finite data set);
* ``images`` — labelled single images (MNIST IDX folders, ``tfds:NAME``): the Beam
  single-image preprocessing (:func:`tfgan_pipeline.preprocess.run_image_preprocess`),
  split by a stable hash into ``train`` / ``eval``;
* ``unpaired`` — two image domains for CycleGAN (Zhu et al. 2017): ``trainA/ trainB/
  testA/ testB/`` folders, ``tfds:cycle_gan/NAME``, or pix2pix A|B files split into
  disjoint A and B sets with a paired held-out test set, by the same Beam path.

Families name their kind in :mod:`tfgan_pipeline.families`; nothing here knows a
family.
"""

import dataclasses
import json
import os

import numpy as np

from tfgan_pipeline.data import paired, single, toy
from tfgan_pipeline.pipeline import gan_eval
from tfgan_pipeline.pipeline import layout as layout_lib
from tfgan_pipeline.preprocess import (ImagePreprocessConfig, PreprocessConfig,
                                       load_image_preprocess_result, load_preprocess_result,
                                       run_image_preprocess, run_preprocess)
from tfgan_pipeline.preprocess import beam_pipeline

EVAL_SPLITS = ("val", "test")


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What a family needs to know about its data to build a model."""

    kind: str
    sample_shape: tuple
    num_classes: int | None = None
    mixture: object = None  # data.toy.GaussianMixture for toys


# ----------------------------------------------------------------------- pairs
class PairsData:
    """pix2pix pairs from the Beam preprocessing."""

    kind = "pairs"
    #: Why ``--precision=auto`` must stay float32 on this data ("": it need not).
    full_precision = ""

    def __init__(self, uri, properties):
        self.result = load_preprocess_result(uri)
        self.eval_split = next((s for s in EVAL_SPLITS if self.result.records_per_split.get(s)),
                               None)
        load_size = int(self.result.stats.get("load_size", properties.get("load_size", 0)))
        self.info = DataInfo(self.kind, (load_size, load_size, 3))

    @staticmethod
    def produce(params, uri, log):
        if not os.path.isdir(params["data_dir"]):
            raise ValueError(f"--data_dir={params['data_dir']!r} is not a folder of image pairs.")
        result = run_preprocess(PreprocessConfig(
            data_dir=params["data_dir"], output_dir=uri, layout=params["layout"],
            direction=params["direction"], load_size=params["load_size"],
            val_fraction=params["val_fraction"], num_workers=params["num_workers"],
            jpeg_draft=params["jpeg_draft"],
            beam_pipeline_args=tuple(params["beam_pipeline_args"])), overwrite=True,
            verbose=False)
        if not result.records_per_split.get("train"):
            raise ValueError(
                f"No training pairs in {params['data_dir']}: every file was rejected or the "
                f"folder is empty; see {result.rejects_path}.")
        log(f"ExampleGen: records {dict(result.records_per_split)}, rejects "
            f"{dict(result.rejects_per_reason) or 'none'}; stats "
            f"{layout_lib.artifact_file(uri, 'Examples', 'stats')}")
        return {"records_per_split": dict(result.records_per_split),
                "rejects": int(sum(result.rejects_per_reason.values())),
                "load_size": params["load_size"], "direction": params["direction"]}

    @staticmethod
    def raw_uri(params):
        return os.path.abspath(params["data_dir"])

    @staticmethod
    def fingerprint(params):
        plan = beam_pipeline.plan_inputs(params["data_dir"], params["layout"],
                                         params["val_fraction"])
        digest, files = beam_pipeline.input_fingerprint(plan.patterns)
        return {"input_fingerprint": digest, "files": files}

    def train_dataset(self, batch_size, image_size, load_size, seed):
        return paired.paired_train_dataset(self.result.file_pattern("train"), batch_size,
                                           image_size=image_size, load_size=load_size, seed=seed)

    def eval_dataset(self, batch_size, image_size):
        """Held-out pairs in file order (the train split, said loudly, when none)."""
        split = self.eval_split or "train"
        return split, paired.paired_eval_dataset(self.result.file_pattern(split),
                                                 batch_size=batch_size, image_size=image_size)

    def train_eval_dataset(self, batch_size, image_size):
        """The training pairs without jitter, in file order (for baselines)."""
        return paired.paired_eval_dataset(self.result.file_pattern("train"),
                                          batch_size=batch_size, image_size=image_size)


# ------------------------------------------------------------------------- toy
class ToyData:
    """A Gaussian mixture with known density (ring8, grid25, mixture1d)."""

    kind = "toy"
    # bfloat16 resolves 2.0 to steps of 0.016, the size of a ring8 mode's std (0.02),
    # and tiny MLPs gain nothing from it.
    full_precision = ("toy mixture: bfloat16 steps near the modes (~0.016 at radius 2) are "
                      "as large as the modes' std; tiny MLPs gain no speed from it")

    def __init__(self, uri, properties):
        with open(layout_lib.artifact_file(uri, "Examples", "mixture")) as f:
            spec = json.load(f)
        self.mixture = toy.GaussianMixture(spec["name"], np.array(spec["centers"]),
                                           np.array(spec["stds"]), np.array(spec["weights"]))
        # Conditional families condition on the mode a sample came from.
        self.info = DataInfo(self.kind, (self.mixture.dim,), num_classes=self.mixture.num_modes,
                             mixture=self.mixture)

    @staticmethod
    def produce(params, uri, log):
        mixture = toy.get_toy(params["dataset"])
        spec = {"name": mixture.name, "centers": mixture.centers.tolist(),
                "stds": mixture.stds.tolist(), "weights": mixture.weights.tolist()}
        path = layout_lib.artifact_file(uri, "Examples", "mixture")
        with open(path, "w") as f:
            json.dump(spec, f, indent=2)
        log(f"ExampleGen: {mixture.name}, {mixture.num_modes} modes in {mixture.dim}-D; {path}")
        return {"mixture": mixture.name, "num_modes": int(mixture.num_modes),
                "dim": int(mixture.dim)}

    @staticmethod
    def raw_uri(params):
        return None  # the mixture's definition is the data

    @staticmethod
    def fingerprint(params):
        return {}

    def train_dataset(self, batch_size, seed, with_modes=False):
        return self.mixture.dataset(batch_size, seed=seed, with_modes=with_modes)


# ---------------------------------------------------------------------- images
class ImagesData:
    """Labelled single images from the Beam single-image preprocessing."""

    kind = "images"
    full_precision = ""

    def __init__(self, uri, properties):
        self.uri = uri
        self.result = load_image_preprocess_result(uri)
        size = int(properties["image_size"])
        self.info = DataInfo(self.kind, (size, size, int(self.result.channels)),
                             num_classes=properties.get("num_classes"))

    @staticmethod
    def produce(params, uri, log):
        result = run_image_preprocess(ImagePreprocessConfig(
            source=params["source"], output_dir=uri, image_size=params["image_size"],
            data_dir=params["data_dir"], num_workers=params["num_workers"],
            beam_pipeline_args=tuple(params["beam_pipeline_args"])), overwrite=True,
            verbose=False)
        if not result.records_per_split.get("train"):
            raise ValueError(f"No training images in {params['source']}: every input was "
                             f"rejected; see {result.rejects_path}.")
        first = next(iter(single.image_eval_dataset(result.file_pattern("train"), 1)))
        size = int(first.shape[1])
        labels = sorted({label for counts in result.label_counts.values() for label in counts})
        log(f"ExampleGen: records {dict(result.records_per_split)}, rejects "
            f"{dict(result.rejects_per_reason) or 'none'}; {size}x{size}x{result.channels}, "
            f"{len(labels)} labels; stats {layout_lib.artifact_file(uri, 'Examples', 'stats')}")
        return {"records_per_split": dict(result.records_per_split),
                "rejects": int(sum(result.rejects_per_reason.values())), "image_size": size,
                "channels": int(result.channels),
                "num_classes": (max(labels) + 1) if labels else None}

    @staticmethod
    def raw_uri(params):
        source = params["source"]
        return source if source.startswith("tfds:") else os.path.abspath(source)

    @staticmethod
    def fingerprint(params):
        source = params["source"]
        if source.startswith("tfds:"):
            return {"tfds": source, "data_dir": params.get("data_dir")}
        import glob
        files = sorted(glob.glob(os.path.join(glob.escape(source), "*")))
        return {"files": [(os.path.basename(f), os.path.getsize(f), int(os.path.getmtime(f)))
                          for f in files if os.path.isfile(f)]}

    def train_dataset(self, batch_size, seed, with_labels=False):
        return single.image_dataset(self.result.file_pattern("train"), batch_size,
                                    with_labels=with_labels, seed=seed)

    def sample_quality(self, model, hp, figures_dir, log):
        """FD, KID, precision/recall, classifier score (and label / code accuracy) of
        generated images against the held-out real ones; a per-pixel Gaussian as the
        trivial baseline and two halves of the real images as the floor."""
        split = "eval" if self.result.records_per_split.get("eval") else "train"
        real, labels = gan_eval.collect_real(single.image_eval_dataset(
            self.result.file_pattern(split), 256, with_labels=True), hp["eval_samples"])
        train_real, train_labels = gan_eval.collect_real(single.image_eval_dataset(
            self.result.file_pattern("train"), 256, with_labels=True),
            gan_eval.CLASSIFIER_EXAMPLES)
        feature_fn = gan_eval.feature_extractor(
            os.path.join(figures_dir, os.pardir, "classifier"), train_real, train_labels,
            hp.get("feature_model"), log=log)
        metrics = gan_eval.sample_quality(model, real, feature_fn, hp["eval_samples"],
                                          seed=hp["seed"])
        metrics.update({f"baseline_{k}": v for k, v in gan_eval.sample_quality(
            gan_eval.PixelGaussian(train_real), real, feature_fn, hp["eval_samples"],
            seed=hp["seed"]).items()})
        half = len(real) // 2
        metrics.update({f"floor_{k}": v for k, v in gan_eval.real_vs_real(
            real[:half], real[half:2 * half], feature_fn).items()})
        metrics["eval_split"] = split
        return metrics


# -------------------------------------------------------------------- unpaired
def _folder_fingerprint(source):
    """``(relative path, size, mtime)`` of every file under a local folder."""
    if source.startswith("tfds:"):
        return {"tfds": source}
    root = os.path.abspath(source)
    files = []
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            files.append((os.path.relpath(path, root), os.path.getsize(path),
                          int(os.path.getmtime(path))))
    return {"files": len(files), "digest": _digest(files)}


def _digest(obj):
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


class UnpairedData:
    """Two image domains A and B (CycleGAN), stored at ``load_size``."""

    kind = "unpaired"
    full_precision = ""

    def __init__(self, uri, properties):
        self.result = load_image_preprocess_result(uri)
        self.paired_test = bool(properties.get("paired_test"))
        size = int(properties["load_size"])
        self.info = DataInfo(self.kind, (size, size, int(self.result.channels)))

    @staticmethod
    def produce(params, uri, log):
        if not params["data_dir"].startswith("tfds:") and not os.path.isdir(params["data_dir"]):
            raise ValueError(f"--data_dir={params['data_dir']!r} is not a folder.")
        result = run_image_preprocess(ImagePreprocessConfig(
            source=params["data_dir"], output_dir=uri, layout=params["layout"],
            image_size=params["load_size"], unpaired_test_fraction=params["test_fraction"],
            data_dir=params["tfds_data_dir"], num_workers=params["num_workers"],
            beam_pipeline_args=tuple(params["beam_pipeline_args"])), overwrite=True,
            verbose=False)
        domains = result.records_per_domain
        for domain in ("A", "B"):
            if not domains.get(domain, {}).get("train"):
                raise ValueError(f"No training images of domain {domain} in "
                                 f"{params['data_dir']}: see {result.rejects_path}.")
        log(f"ExampleGen: records per domain {domains}, rejects "
            f"{dict(result.rejects_per_reason) or 'none'}; stats "
            f"{layout_lib.artifact_file(uri, 'Examples', 'stats')}")
        return {"records_per_domain": domains, "layout": result.layout,
                "paired_test": int(result.layout == "pix2pix_unpaired"),
                "rejects": int(sum(result.rejects_per_reason.values())),
                "load_size": params["load_size"], "channels": int(result.channels)}

    @staticmethod
    def raw_uri(params):
        source = params["data_dir"]
        return source if source.startswith("tfds:") else os.path.abspath(source)

    @staticmethod
    def fingerprint(params):
        return _folder_fingerprint(params["data_dir"])

    def pattern(self, split, domain):
        return self.result.file_pattern(split, domain)

    def train_dataset(self, batch_size, image_size, load_size, seed):
        return single.unpaired_dataset(self.pattern("train", "A"), self.pattern("train", "B"),
                                       batch_size, image_size=image_size, load_size=load_size,
                                       seed=seed)

    def test_images(self, domain, image_size, limit=None):
        """Every test image of one domain (file order), as one float32 array."""
        batches = []
        for batch in single.image_eval_dataset(self.pattern("test", domain), 32,
                                               image_size=image_size):
            batches.append(batch.numpy())
            if limit is not None and sum(len(b) for b in batches) >= limit:
                break
        return np.concatenate(batches)[:limit]

    def paired_test_images(self, image_size, limit=None):
        """``(a, b)`` test images joined by file name (pix2pix_unpaired data)."""
        a, b = [], []
        for batch_a, batch_b, _ in single.paired_test_dataset(
                self.pattern("test", "A"), self.pattern("test", "B"), 32, image_size=image_size):
            a.append(batch_a.numpy())
            b.append(batch_b.numpy())
        return np.concatenate(a)[:limit], np.concatenate(b)[:limit]

    def mean_train_image(self, domain, image_size):
        total, count = None, 0
        for batch in single.image_eval_dataset(self.pattern("train", domain), 64,
                                               image_size=image_size):
            values = batch.numpy().astype(np.float64)
            total = values.sum(axis=0) if total is None else total + values.sum(axis=0)
            count += len(values)
        return (total / count).astype(np.float32)


DATA_KINDS = {cls.kind: cls for cls in (PairsData, ToyData, ImagesData, UnpairedData)}


def open_examples(artifact):
    """The reader for an Examples artifact (its ``kind`` property names the class)."""
    kind = artifact.properties.get("kind")
    if kind not in DATA_KINDS:
        raise ValueError(f"Examples artifact {artifact.uri} has unknown kind {kind!r}; known: "
                         f"{sorted(DATA_KINDS)}.")
    return DATA_KINDS[kind](artifact.uri, artifact.properties)
