"""The data kinds ExampleGen produces, and how the Trainer and Evaluator read them back.

One class per kind, each with ``produce(params, uri, log) -> properties`` (the
ExampleGen executor's body for that kind) and ``open(uri, properties)`` (a reader
the family code uses: ``info`` plus ``train_dataset(...)`` / ``eval_batches(...)``):

* ``pairs`` — pix2pix pairs (Isola et al. 2017, App. 6.2): the Beam preprocessing of
  :mod:`tfgan_pipeline.preprocess` (validate, split, resize -> GZIP TFRecords,
  ``stats.json``, ``rejects.jsonl``) written into the Examples artifact;
* ``toy`` — 2-D / 1-D Gaussian mixtures (Metz et al. 2017): the mixture's definition
  (``mixture.json``); samples are drawn fresh from it (there is no finite data set).

Families name their kind in :mod:`tfgan_pipeline.families`; nothing here knows a
family.
"""

import dataclasses
import json
import os

import numpy as np

from tfgan_pipeline.data import paired, toy
from tfgan_pipeline.pipeline import layout as layout_lib
from tfgan_pipeline.preprocess import PreprocessConfig, load_preprocess_result, run_preprocess
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
    def fingerprint(params):
        return {}

    def train_dataset(self, batch_size, seed, with_modes=False):
        return self.mixture.dataset(batch_size, seed=seed, with_modes=with_modes)


DATA_KINDS = {cls.kind: cls for cls in (PairsData, ToyData)}


def open_examples(artifact):
    """The reader for an Examples artifact (its ``kind`` property names the class)."""
    kind = artifact.properties.get("kind")
    if kind not in DATA_KINDS:
        raise ValueError(f"Examples artifact {artifact.uri} has unknown kind {kind!r}; known: "
                         f"{sorted(DATA_KINDS)}.")
    return DATA_KINDS[kind](artifact.uri, artifact.properties)
