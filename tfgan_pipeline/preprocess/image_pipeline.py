"""Apache Beam preprocessing of single images into sharded TFRecords (ExampleGen's data path).

The single-image counterpart of :mod:`tfgan_pipeline.preprocess.beam_pipeline`, for
the latent GANs on labelled images (MNIST IDX files, LeCun et al.; any TFDS image
dataset by ``tfds:NAME[:SPLIT]``) and for CycleGAN's unpaired domains (Zhu, Park,
Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017): the published ``trainA/ trainB/ testA/ testB/``
folders, TFDS ``cycle_gan/<name>`` (splits ``trainA`` ... ``testB``), or a flat
folder of pix2pix A|B files (Isola et al., CVPR 2017) divided into unpaired
domains with a paired held-out set (see :mod:`tfgan_pipeline.preprocess.image_elements`)::

    <output_dir>/tfrecords/<folder>/part-SSSSS-of-NNNNN.tfrecord.gz   tf.train.Example, GZIP,
                      schema in data/schema.py (IMAGE_FEATURE_SPEC); folder = train, eval
                      (latent-GAN data) or trainA, trainB, testA, testB (CycleGAN domains)
    <output_dir>/stats.json      counts per split, per domain and split, per split and label;
                                 source sizes, rejects by reason, inputs read
    <output_dir>/rejects.jsonl   one JSON line per rejected input: path, reason, detail,
                                 split, domain
    <output_dir>/config.json     the config and cache key; written last = "complete"

Composites: :func:`ExtractImages` (list/read, validate, split, resize), then the
shared writers of :mod:`tfgan_pipeline.preprocess.beam_common`. The runner,
atomic output, reuse of a finished output with the same cache key, and
``beam_pipeline_args`` pass-through are those of the paired pipeline. TFDS data is
read inside the pipeline with ``tfds.load`` (``download=False``: prepare it first
with ``tfds build``), one split per worker, and decoded examples are redistributed
(``Reshuffle``) before the per-element work.
"""

import dataclasses
import hashlib
import json
import os

import apache_beam as beam
from apache_beam.io import fileio
import tensorflow as tf

from tfgan_pipeline.data import mnist
from tfgan_pipeline.data import schema
from tfgan_pipeline.data import tfds_source
from tfgan_pipeline.preprocess import beam_common
from tfgan_pipeline.preprocess import elements
from tfgan_pipeline.preprocess import image_elements as ie

#: Bumped when the preprocessing changes what it writes for the same config.
IMAGE_PREPROCESS_VERSION = 1

#: The TFDS features read: the image, and the class label when the dataset has one.
TFDS_IMAGE_KEY = "image"
TFDS_LABEL_KEY = "label"

_LAYOUT_CHOICES = ("auto",) + ie.IMAGE_LAYOUTS


@dataclasses.dataclass(frozen=True)
class ImagePreprocessConfig(beam_common.BeamRunConfig):
    """Everything that defines one single-image preprocessing run.

    Attributes:
      source: a folder (MNIST IDX files; ``trainA/ trainB/ [testA/ testB/]``; a flat
        folder of pix2pix A|B files) or ``"tfds:NAME[:SPLIT]"``.
      output_dir: output folder; must not be, contain or lie inside a source folder.
      layout: ``"auto"`` (``tfds`` for a ``tfds:`` source, ``domains`` for a folder with
        ``trainA/`` ... folders, ``idx`` for a folder of IDX files; a flat folder of
        A|B files needs ``"pix2pix_unpaired"`` explicitly), or one of
        :data:`image_elements.IMAGE_LAYOUTS`.
      image_size: side of the square bicubic resize, or ``None`` to keep the native size.
      channels: ``None`` keeps the source's (MNIST 1, photos 3, TFDS: its image
        feature) and rejects images with the other count; 1 or 3 converts L/RGB to it.
      eval_fraction: share of an unsplit source (IDX, one TFDS split) hashed into ``eval``.
      unpaired_test_fraction: ``pix2pix_unpaired``: share of files held out with both
        halves as ``testA``/``testB``.
      data_dir: TensorFlow Datasets ``data_dir`` (``None``: TFDS' default).
      num_shards: TFRecord files per output folder (``0``: one per bundle, no shuffle;
        see :func:`~tfgan_pipeline.preprocess.beam_common.WriteSplitTFRecords`).
      num_workers: DirectRunner workers; ``> 1`` runs them as threads unless
        ``beam_pipeline_args`` sets ``--direct_running_mode`` (see
        :func:`~tfgan_pipeline.preprocess.beam_common.pipeline_flags`).
      beam_pipeline_args: extra Beam flags passed through verbatim.
    """
    source: str
    output_dir: str
    layout: str = "auto"
    image_size: object = None
    channels: object = None
    eval_fraction: float = 0.1
    unpaired_test_fraction: float = 0.1
    data_dir: object = None
    num_shards: int = 2
    num_workers: int = 1
    beam_pipeline_args: tuple = ()

    def __post_init__(self):
        source = beam_common.check_path("source", self.source)
        is_tfds = tfds_source.is_tfds_spec(source)
        if is_tfds:
            tfds_source.parse_tfds_spec(source)  # raises for a malformed spec
        object.__setattr__(self, "source", source if is_tfds else beam_common.normalize_dir(source))
        object.__setattr__(self, "output_dir", beam_common.normalize_dir(
            beam_common.check_path("output_dir", self.output_dir)))
        if self.data_dir is not None:
            object.__setattr__(self, "data_dir", beam_common.normalize_dir(
                os.path.expanduser(os.fspath(self.data_dir))))
        if self.layout not in _LAYOUT_CHOICES:
            raise ValueError(f"layout must be one of {_LAYOUT_CHOICES}, got {self.layout!r}.")
        if (self.layout == "tfds") != is_tfds and self.layout != "auto":
            raise ValueError(f"layout {self.layout!r} does not fit source {self.source!r}: "
                             "layout 'tfds' goes with a 'tfds:NAME[:SPLIT]' source and only there.")
        if self.image_size is not None:
            beam_common.check_int("image_size", self.image_size, 1)
        if self.channels is not None and self.channels not in schema.IMAGE_CHANNELS:
            raise ValueError(f"channels must be None, 1 or 3, got {self.channels!r}.")
        for name in ("eval_fraction", "unpaired_test_fraction"):
            object.__setattr__(self, name, beam_common.check_fraction(name, getattr(self, name)))
        self._check_run_fields(None if is_tfds else "source")


@dataclasses.dataclass(frozen=True)
class ImagePlan:
    """What the pipeline reads, resolved on the driver.

    Attributes:
      layout: one of :data:`image_elements.IMAGE_LAYOUTS`.
      source: the folder, or the TFDS dataset name (with config/version).
      folders: the output folders that will be written (even if one ends up empty).
      channels: the source's channel count (what ``channels=None`` keeps).
      num_classes: labels are checked to lie in ``[0, num_classes)``; ``None``: unlabelled.
      patterns: glob patterns (or paths) of the input files.
      units: ``idx``: ``(prefix, images_path, labels_path)`` per IDX file set; ``tfds``:
        ``(tfds_split, split or None, domain or None)`` per split read.
      ignored: entries of the folder that are not read.
      fingerprint: sha1 of what identifies the input (files: path, size, mtime).
    """
    layout: str
    source: str
    folders: tuple
    channels: int
    num_classes: object
    patterns: tuple
    units: tuple
    ignored: tuple
    fingerprint: str

    @property
    def hash_split(self):
        """Whether ``eval_fraction`` divides this source into train/eval."""
        return "train" in self.folders


def _unsplit_folders(eval_fraction):
    return ("train", "eval") if eval_fraction > 0 else ("train",)


def _domain_order(folder):
    return list(ie.DOMAIN_FOLDERS).index(folder)


def _sha1_json(value):
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()


def _plan_tfds(config):
    import tensorflow_datasets as tfds  # heavy import; only paid when TFDS is used

    spec = tfds_source.parse_tfds_spec(config.source, default_split=None)
    info = tfds.builder(spec.name, data_dir=config.data_dir).info
    known = list(info.splits)  # empty when not prepared (and under tfds.testing.mock_data)
    if spec.split is not None:
        where = ie.domain_split(spec.split)
        units = ((spec.split,) + (where or (None, None)),)
    elif (spec.name.split("/")[0] == "cycle_gan"
          or any(ie.domain_split(s) for s in known)):
        names = [s for s in known if ie.domain_split(s)] or list(ie.DOMAIN_FOLDERS)
        units = tuple((s,) + ie.domain_split(s) for s in sorted(names, key=_domain_order))
    else:
        units = (("train", None, None),)
    for tfds_split, _, _ in units:  # fails early, saying how to prepare the data
        tfds_source.load_tfds(spec.name, tfds_split, data_dir=config.data_dir)
    features = dict(info.features)
    if TFDS_IMAGE_KEY not in features:
        raise ValueError(f"TFDS dataset {spec.name!r} has no {TFDS_IMAGE_KEY!r} feature; its "
                         f"features are {sorted(features)}.")
    channels = features[TFDS_IMAGE_KEY].shape[-1] or 3
    label = features.get(TFDS_LABEL_KEY)
    num_classes = getattr(label, "num_classes", None)
    if units[0][1] is None:
        folders = _unsplit_folders(config.eval_fraction)
    else:
        folders = tuple(ie.output_folder(split, domain) for _, split, domain in units)
    fingerprint = _sha1_json({
        "name": spec.name, "full_name": info.full_name, "version": str(info.version),
        "data_dir": config.data_dir, "units": units,
        "num_examples": {s: info.splits[s].num_examples for s in known}})
    return ImagePlan("tfds", spec.name, folders, int(channels), num_classes, (), units, (),
                     fingerprint)


def _plan_folder(config):
    root = config.source
    if not tf.io.gfile.isdir(root):
        raise FileNotFoundError(f"source {root!r} is not a folder (nor a 'tfds:NAME' spec); "
                                "point it at the images.")
    subdirs, files = beam_common.listdir(root)
    layout = config.layout
    found = None  # the IDX file sets, when looked for
    if layout == "auto":
        if set(subdirs) & set(ie.DOMAIN_FOLDERS):
            layout = "domains"
        else:
            found = mnist.find_mnist_files(root)
            if not found:
                raise ValueError(
                    f"Cannot tell the layout of {root!r}: no {sorted(ie.DOMAIN_FOLDERS)} folders "
                    "and no MNIST IDX files. For a folder of pix2pix A|B images pass "
                    "layout='pix2pix_unpaired'.")
            layout = "idx"
    if layout == "idx":
        found = mnist.find_mnist_files(root) if found is None else found
        if not found:
            raise FileNotFoundError(f"No MNIST IDX files in {root!r} (looked for "
                                    "train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz] "
                                    "and their labels files).")
        units = tuple((mnist.SPLIT_PREFIXES[split], images, labels)
                      for split, (images, labels) in found.items())
        patterns = tuple(p for _, images, labels in units for p in (images, labels))
        used = {os.path.basename(p) for p in patterns}
        ignored = [d + "/" for d in subdirs] + [f for f in files if f not in used]
        folders = _unsplit_folders(config.eval_fraction)
        channels, num_classes = 1, mnist.NUM_CLASSES
    elif layout == "domains":
        present = sorted((d for d in subdirs if d in ie.DOMAIN_FOLDERS), key=_domain_order)
        if not present:
            raise FileNotFoundError(f"layout 'domains' needs folders {sorted(ie.DOMAIN_FOLDERS)} "
                                    f"in {root!r}; found {subdirs}.")
        units = ()
        patterns = (beam_common.join(root, "*"),) + tuple(
            beam_common.join(root, d, "*") for d in present)
        ignored = [d + "/" for d in subdirs if d not in present]
        ignored += [f"{d}/{sub}/" for d in present for sub in beam_common.listdir(
            beam_common.join(root, d))[0]]
        folders, channels, num_classes = tuple(present), 3, None
    else:  # pix2pix_unpaired
        units = ()
        patterns = (beam_common.join(root, "*"),)
        ignored = [d + "/" for d in subdirs]
        folders = ("trainA", "trainB") + (
            ("testA", "testB") if config.unpaired_test_fraction > 0 else ())
        channels, num_classes = 3, None
    fingerprint, _ = beam_common.input_fingerprint(patterns)
    return ImagePlan(layout, root, folders, channels, num_classes, patterns, units,
                     tuple(sorted(ignored)), fingerprint)


def plan_image_inputs(config):
    """Resolves the layout, the output folders and what to read for ``config``.

    Returns:
      An :class:`ImagePlan`.

    Raises:
      FileNotFoundError: a missing folder, no IDX/domain folders where the layout
        needs them, or a TFDS dataset that is not prepared under ``data_dir``.
      ValueError: a folder whose layout cannot be told (``layout="auto"``).
    """
    if tfds_source.is_tfds_spec(config.source):
        return _plan_tfds(config)
    return _plan_folder(config)


def image_format(config, plan):
    """The :class:`image_elements.ImageFormat` of a run."""
    return ie.ImageFormat(image_size=config.image_size, channels=config.channels or plan.channels,
                          convert=config.channels is not None)


# ---------------------------------------------------------------------------- Beam stages


def _classify_file(path, plan, test_fraction):
    if plan.layout == "domains":
        key = ie.classify_domain_path(path, plan.source)
    else:
        key = ie.classify_unpaired_path(path, plan.source, test_fraction)
    return beam_common.tag(key if isinstance(key, elements.Reject) else (key, path))


def _read_tfds_split(unit, name, data_dir):
    """Yields ``(ExampleRef, image array, label)`` for every example of one TFDS split."""
    import tensorflow_datasets as tfds  # heavy import; only paid when TFDS is used

    tfds_split, split, domain = unit
    ds, info = tfds_source.load_tfds(name, tfds_split, data_dir=data_dir)
    has_label = TFDS_LABEL_KEY in info.features
    for i, example in enumerate(tfds.as_numpy(ds)):
        ref = ie.ExampleRef(f"{tfds_split}-{i:06d}", f"tfds:{name}/{tfds_split}[{i}]", split,
                            domain)
        yield ref, example[TFDS_IMAGE_KEY], example[TFDS_LABEL_KEY] if has_label else None


def _read_source(unit, plan, data_dir):
    if plan.layout == "idx":
        items = ie.read_idx_examples(*unit)
    else:
        items = _read_tfds_split(unit, plan.source, data_dir)
    for item in items:
        yield beam_common.tag(item)


def _extract_files(pbegin, plan, fmt, test_fraction):
    listed = (pbegin
              | "CreatePatterns" >> beam.Create(list(plan.patterns))
              | "ListFiles" >> fileio.MatchAll()
              | "Paths" >> beam.Map(lambda metadata: metadata.path))
    classified = (listed
                  | "ClassifyFiles" >> beam.Map(_classify_file, plan, test_fraction).with_outputs(
                      "rejects", main="files"))
    read = (classified.files
            | "Distribute" >> beam.Reshuffle()
            | "ReadBytes" >> beam.ParDo(beam_common.ReadBytesFn(ie.ImageReject))
            .with_outputs("rejects", main="files"))
    if plan.layout == "domains":
        processed = (read.files
                     | "DecodeImages" >> beam.Map(lambda e: beam_common.tag(
                         ie.process_image_file(e[1], e[2], e[0].split, e[0].side, fmt)))
                     .with_outputs("rejects", main="records"))
    else:
        processed = (read.files
                     | "DecodeSplitHalves" >> beam.FlatMap(lambda e: [
                         beam_common.tag(item) for item in ie.process_unpaired_file(
                             e[1], e[2], e[0].split, e[0].side, fmt)])
                     .with_outputs("rejects", main="records"))
    return listed, processed, (classified.rejects, read.rejects)


def _extract_arrays(pbegin, plan, fmt, eval_fraction, data_dir):
    stage = "ReadIdx" if plan.layout == "idx" else "ReadTfds"
    read = (pbegin
            | "CreateSources" >> beam.Create(list(plan.units))
            | stage >> beam.FlatMap(_read_source, plan, data_dir)
            .with_outputs("rejects", main="examples"))
    inputs = (read.examples, read.rejects) | "Inputs" >> beam.Flatten()
    processed = (read.examples
                 | "Distribute" >> beam.Reshuffle()
                 | "CheckArrays" >> beam.Map(lambda e: beam_common.tag(ie.process_array(
                     e[0], e[1], e[2], fmt, eval_fraction, plan.num_classes)))
                 .with_outputs("rejects", main="records"))
    return inputs, processed, (read.rejects,)


@beam.ptransform_fn
def ExtractImages(pbegin, plan, fmt, eval_fraction, unpaired_test_fraction,  # pylint: disable=invalid-name
                  data_dir=None):
    """Lists or reads, decodes, validates, splits and resizes every input of ``plan``.

    Args:
      pbegin: the pipeline.
      plan: an :class:`ImagePlan`.
      fmt: an :class:`image_elements.ImageFormat`.
      eval_fraction: held-out share of unsplit sources (``idx``, one TFDS split).
      unpaired_test_fraction: held-out share of ``pix2pix_unpaired`` files.
      data_dir: TFDS ``data_dir``.

    Returns:
      A dict of PCollections: ``records`` (:class:`image_elements.ImageRecord`),
      ``rejects`` (:class:`image_elements.ImageReject`) and ``inputs`` (one element
      per input read: listed file, example, or IDX set rejected whole).
    """
    if plan.layout in ("domains", "pix2pix_unpaired"):
        inputs, processed, early = _extract_files(pbegin, plan, fmt, unpaired_test_fraction)
    else:
        inputs, processed, early = _extract_arrays(pbegin, plan, fmt, eval_fraction, data_dir)
    rejects = (early + (processed.rejects,)) | "FlattenRejects" >> beam.Flatten()
    return {"records": processed.records, "rejects": rejects, "inputs": inputs}


def _static_stats(config, plan, fmt):
    return {"layout": plan.layout, "source": plan.source, "image_size": fmt.image_size,
            "channels": fmt.channels, "channels_converted": fmt.convert,
            "num_classes": plan.num_classes, "ignored": list(plan.ignored),
            "eval_fraction": config.eval_fraction if plan.hash_split else None,
            "unpaired_test_fraction": (config.unpaired_test_fraction
                                       if plan.layout == "pix2pix_unpaired" else None),
            "image_format": "png", "image_schema_version": schema.IMAGE_SCHEMA_VERSION}


def build_image_pipeline(pipeline, plan, config, out_dir):
    """Adds the whole single-image graph to ``pipeline``, writing under ``out_dir``."""
    fmt = image_format(config, plan)
    images = pipeline | "ExtractImages" >> ExtractImages(
        plan, fmt, config.eval_fraction, config.unpaired_test_fraction, config.data_dir)
    _ = images["records"] | "WriteTFRecords" >> beam_common.WriteSplitTFRecords(
        beam_common.join(out_dir, beam_common.TFRECORD_DIR), plan.folders, config.num_shards,
        folder_of=lambda record: record.folder)
    _ = images["rejects"] | "WriteRejects" >> beam_common.WriteRejects(
        beam_common.join(out_dir, beam_common.REJECTS_FILE))
    _ = ((images["records"], images["rejects"], images["inputs"])
         | "WriteStats" >> beam_common.WriteStats(
             beam_common.join(out_dir, beam_common.STATS_FILE), _static_stats(config, plan, fmt),
             plan.folders, stat_keys=ie.stat_keys, build_stats=ie.build_stats,
             listed_key="inputs"))


# ---------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class ImagePreprocessResult:
    """Where a single-image preprocessing run's outputs are, and its counts.

    Attributes:
      output_dir: the output folder.
      layout: the resolved layout.
      tfrecords: ``{folder: (tfrecord paths, sorted)}``, folder = ``train``, ``eval``,
        ``trainA`` ...
      stats_path, rejects_path, config_path: ``stats.json``, ``rejects.jsonl``, ``config.json``.
      records_per_split: ``{split: number of images}`` (both domains together).
      records_per_domain: ``{domain: {split: number}}``; empty without domains.
      label_counts: ``{split: {label: number}}``; empty for unlabelled sources.
      rejects_per_reason: ``{reason: number of inputs}``.
      channels: stored channel count (what the readers decode).
      stats: the whole stats dict.
      reused: ``True`` when an existing output with the same cache key was returned.
    """
    output_dir: str
    layout: str
    tfrecords: dict
    stats_path: str
    rejects_path: str
    config_path: str
    records_per_split: dict
    records_per_domain: dict
    label_counts: dict
    rejects_per_reason: dict
    channels: int
    stats: dict
    reused: bool = False

    def file_pattern(self, split, domain=None):
        """Glob pattern of one output folder's TFRecords, for :mod:`tfgan_pipeline.data.single`.

        Args:
          split: ``"train"``, ``"eval"`` or ``"test"``.
          domain: ``"A"``/``"B"`` for CycleGAN domains, ``None`` otherwise.

        Raises:
          KeyError: naming the ``(split, domain)`` pairs this output has.
        """
        folder = ie.output_folder(split, domain)
        if folder not in self.tfrecords:
            have = [ie.domain_split(f) or (f, None) for f in self.tfrecords]
            raise KeyError(f"No split {split!r} with domain {domain!r} in {self.output_dir}; "
                           f"have (split, domain) {have}.")
        return beam_common.tfrecord_pattern(self.output_dir, folder)


def load_image_preprocess_result(output_dir, reused=False):
    """Reads a finished output folder back into an :class:`ImagePreprocessResult`.

    Raises:
      FileNotFoundError: if ``config.json`` is missing (incomplete or not an output folder).
    """
    output_dir = beam_common.normalize_dir(output_dir)
    config_path = beam_common.join(output_dir, beam_common.CONFIG_FILE)
    if not tf.io.gfile.exists(config_path):
        raise FileNotFoundError(f"{config_path} is missing: {output_dir!r} is not a finished "
                                "preprocessing output (rerun run_image_preprocess).")
    stats_path = beam_common.join(output_dir, beam_common.STATS_FILE)
    stats = beam_common.read_json(stats_path)
    labels = {split: {int(k): v for k, v in counts.items()}
              for split, counts in stats["label_counts"].items()}
    return ImagePreprocessResult(
        output_dir=output_dir, layout=stats["layout"],
        tfrecords=beam_common.list_tfrecords(output_dir, stats["folders"]),
        stats_path=stats_path, rejects_path=beam_common.join(output_dir, beam_common.REJECTS_FILE),
        config_path=config_path, records_per_split=dict(stats["records_per_split"]),
        records_per_domain={d: dict(s) for d, s in stats["records_per_domain"].items()},
        label_counts=labels, rejects_per_reason=dict(stats["rejects_per_reason"]),
        channels=stats["channels"], stats=stats, reused=reused)


def format_image_summary(result):
    """Human-readable summary of an :class:`ImagePreprocessResult`."""
    s = result.stats
    parts = []
    for folder in s["folders"]:
        split, domain = ie.domain_split(folder) or (folder, None)
        n = (result.records_per_domain[domain][split] if domain
             else result.records_per_split[split])
        parts.append(f"{folder} {n}")
    size = f"{s['image_size']}x{s['image_size']}" if s["image_size"] else "native size"
    lines = [f"image preprocess ({s['layout']}) "
             f"{'(reused existing output) ' if result.reused else ''}{result.output_dir}: "
             f"{s['total_records']} images ({', '.join(parts)}; {size}, {s['channels']} "
             f"channel{'s' if s['channels'] > 1 else ''}) from {s['inputs']} inputs; "
             f"{s['rejected_inputs']} rejected"]
    lines += [f"  rejected {reason}: {n}" for reason, n in result.rejects_per_reason.items()]
    if s.get("ignored"):
        lines.append(f"  not read: {', '.join(s['ignored'])}")
    if s["rejected_inputs"]:
        lines.append(f"  reject list: {result.rejects_path}")
    return "\n".join(lines)


def _cache_key(config, plan, fmt):
    return {"image_preprocess_version": IMAGE_PREPROCESS_VERSION,
            "image_schema_version": schema.IMAGE_SCHEMA_VERSION, "source": plan.source,
            "layout": plan.layout, "folders": list(plan.folders), "image_size": fmt.image_size,
            "channels": fmt.channels, "convert": fmt.convert,
            "eval_fraction": config.eval_fraction if plan.hash_split else None,
            "unpaired_test_fraction": (config.unpaired_test_fraction
                                       if plan.layout == "pix2pix_unpaired" else None),
            "data_dir": config.data_dir if plan.layout == "tfds" else None,
            "num_shards": config.num_shards, "input_fingerprint": plan.fingerprint}


def run_image_preprocess(config, overwrite=False, verbose=True):
    """Runs (or reuses) the single-image preprocessing described by ``config``.

    Args:
      config: an :class:`ImagePreprocessConfig`.
      overwrite: replace an existing output whose cache key differs (otherwise that
        raises). An output with the same cache key is always reused.
      verbose: print :func:`format_image_summary` at the end.

    Returns:
      An :class:`ImagePreprocessResult`.

    Raises:
      FileNotFoundError: missing input folders or an unprepared TFDS dataset.
      ValueError: for an ``output_dir`` that holds something else, see ``overwrite``.
      RuntimeError: if the Beam pipeline does not finish in state ``DONE``.
    """
    if not isinstance(config, ImagePreprocessConfig):
        raise TypeError(f"config must be an ImagePreprocessConfig, got {type(config).__name__}.")
    plan = plan_image_inputs(config)
    reused = beam_common.run_or_reuse(
        config, _cache_key(config, plan, image_format(config, plan)),
        lambda pipeline, out: build_image_pipeline(pipeline, plan, config, out),
        overwrite=overwrite)
    result = load_image_preprocess_result(config.output_dir, reused=reused)
    if verbose:
        print(format_image_summary(result))
    return result
