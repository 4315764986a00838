"""Apache Beam preprocessing of paired images into sharded TFRecords (pix2pix data).

Turns a folder of pairs (Isola et al., "Image-to-Image Translation with
Conditional Adversarial Networks", CVPR 2017, Sec. 4 and Appendix 6.2: one A|B
image per pair, or same-named files in ``A/`` and ``B/``) into::

    <output_dir>/tfrecords/<split>/part-SSSSS-of-NNNNN.tfrecord.gz   tf.train.Example,
                                                                   GZIP, schema in data/schema.py
    <output_dir>/stats.json      counts per split, source image sizes, rejects by reason
    <output_dir>/rejects.jsonl   one JSON line per rejected file: path, reason, detail, split
    <output_dir>/config.json     the config and cache key; written last = "complete"

The per-element logic lives in :mod:`tfgan_pipeline.preprocess.elements` (plain
functions); this module holds the named ``@beam.ptransform_fn`` composite
:func:`ExtractPairs` and :func:`run_preprocess`, the public entry point, which
takes a frozen :class:`PreprocessConfig` and returns a :class:`PreprocessResult`.
The writers (:func:`WriteSplitTFRecords`, :func:`WriteRejects`, :func:`WriteStats`),
the runner flags and the atomic publishing with reuse are shared with the
single-image pipeline (:mod:`tfgan_pipeline.preprocess.beam_common`).

Runner: the DirectRunner by default (set explicitly: the Prism runner cannot be
downloaded offline); ``num_workers > 1`` runs that many DirectRunner workers, as
threads (``multi_threading``) unless ``beam_pipeline_args`` names another
``--direct_running_mode``; any other runner comes through ``beam_pipeline_args``
(e.g. ``("--runner=DataflowRunner", "--project=...", ...)``). Pipeline options are
always built from explicit flags, never from ``sys.argv``.

Atomicity and resume: outputs are written to a hidden sibling temp folder and
renamed into place; ``config.json`` is written after the rename, so a folder
without it is never taken as complete. A rerun whose cache key (config that shapes
the output + a fingerprint of the listed input files) matches an existing
``config.json`` returns the existing result without running Beam.
"""

import dataclasses

import apache_beam as beam
from apache_beam.io import fileio

from tfgan_pipeline.preprocess import beam_common
from tfgan_pipeline.preprocess import elements
# The shared pieces, under the names this module has always had.
from tfgan_pipeline.preprocess.beam_common import (CONFIG_FILE, REJECTS_FILE,  # noqa: F401
                                                   STATS_FILE, TFRECORD_DIR, TFRECORD_PREFIX,
                                                   TFRECORD_SUFFIX, WriteRejects,
                                                   WriteSplitTFRecords, WriteStats,
                                                   input_fingerprint, pipeline_flags)

#: Bumped when the preprocessing changes what it writes for the same config.
PREPROCESS_VERSION = 2  # 2: PNG deflated by ISA-L (same pixels, other bytes)

_normalize_dir = beam_common.normalize_dir
# TensorFlow (for tf.io.gfile) and the schema module (which imports it) only when the
# driver needs them: Beam workers import this module to run its stages.
tf = beam_common.tf


class _LazySchema:
    def __getattr__(self, name):
        from tfgan_pipeline.data import schema as module  # noqa: PLC0415

        return getattr(module, name)


schema = _LazySchema()
_join = beam_common.join
_listdir = beam_common.listdir


@dataclasses.dataclass(frozen=True)
class PreprocessConfig(beam_common.BeamRunConfig):
    """Everything that defines one preprocessing run.

    Attributes:
      data_dir: input folder (local path, or any filesystem Beam and ``tf.io.gfile`` read).
      output_dir: output folder; must not be, contain or lie inside ``data_dir``.
      layout: ``"auto"`` (``"ab"`` when ``data_dir`` has ``A/`` and ``B/``, else
        ``"pix2pix"``), ``"pix2pix"`` (one A|B image per pair) or ``"ab"``.
      direction: ``"AtoB"`` (input = A, the left half) or ``"BtoA"``.
      load_size: side of the square each half is resized to (286 in the paper).
      val_fraction: held-out share when the split comes from the name hash (flat folder).
      num_shards: TFRecord files per split; ``0`` (the default) lets the runner decide:
        each worker writes the records it makes, one file per bundle. A fixed count
        sends every record through a shuffle first (see
        :func:`~tfgan_pipeline.preprocess.beam_common.WriteSplitTFRecords`).
      jpeg_draft: which splits decode JPEG sources at a reduced DCT scale that still
        covers the load size (about 2x faster on the maps pairs, not pixel-identical to
        the reference resize; see "JPEG draft" in
        :mod:`tfgan_pipeline.preprocess.elements`): ``"train"`` (the default: the
        training split only, held-out pairs exact), ``"all"`` or ``"off"``;
        ``True``/``False`` are taken as ``"all"``/``"off"``.
      num_workers: DirectRunner workers; ``> 1`` runs them as threads
        (``multi_threading``) unless ``beam_pipeline_args`` sets
        ``--direct_running_mode`` (see
        :func:`~tfgan_pipeline.preprocess.beam_common.pipeline_flags`).
      beam_pipeline_args: extra Beam flags passed through verbatim, e.g.
        ``("--runner=DataflowRunner", "--project=p", "--region=r", "--temp_location=gs://...")``.
    """
    data_dir: str
    output_dir: str
    layout: str = "auto"
    direction: str = "AtoB"
    load_size: int = 286
    val_fraction: float = 0.1
    num_shards: int = 0
    num_workers: int = 1
    beam_pipeline_args: tuple = ()
    jpeg_draft: str = "train"

    def __post_init__(self):
        object.__setattr__(self, "jpeg_draft", elements.check_jpeg_draft(self.jpeg_draft))
        for name in ("data_dir", "output_dir"):
            object.__setattr__(self, name, _normalize_dir(beam_common.check_path(
                name, getattr(self, name))))
        if self.layout not in ("auto",) + elements.LAYOUTS:
            raise ValueError(f"layout must be one of {('auto',) + elements.LAYOUTS}, "
                             f"got {self.layout!r}.")
        if self.direction not in schema.DIRECTIONS:
            raise ValueError(
                f"direction must be one of {schema.DIRECTIONS}, got {self.direction!r}.")
        beam_common.check_int("load_size", self.load_size, 1)
        object.__setattr__(self, "val_fraction",
                           beam_common.check_fraction("val_fraction", self.val_fraction))
        self._check_run_fields("data_dir")


@dataclasses.dataclass(frozen=True)
class InputPlan:
    """What the listing stage reads, resolved on the driver from the folder structure.

    Attributes:
      root: the data folder.
      layout: ``"pix2pix"`` or ``"ab"``.
      split_mode: ``"folders"`` or ``"hash"``.
      splits: the splits that will be written (even if one ends up empty).
      patterns: glob patterns whose matches are the input files.
      ignored: sub-folders (and, for ``ab``, loose files) that are not read.
    """
    root: str
    layout: str
    split_mode: str
    splits: tuple
    patterns: tuple
    ignored: tuple


def plan_inputs(data_dir, layout="auto", val_fraction=0.1):
    """Resolves the layout and split mode of ``data_dir`` and the patterns to list.

    Args:
      data_dir: the input folder.
      layout: ``"auto"``, ``"pix2pix"`` or ``"ab"``.
      val_fraction: held-out share used when there are no split folders.

    Returns:
      An :class:`InputPlan`.

    Raises:
      FileNotFoundError: if ``data_dir`` (or, for ``"ab"``, ``A/`` or ``B/``) is missing.
    """
    root = _normalize_dir(data_dir)
    if not tf.io.gfile.isdir(root):
        raise FileNotFoundError(f"data_dir {root!r} is not a folder; point it at the images.")
    subdirs, files = _listdir(root)
    if layout == "auto":
        layout = "ab" if {"A", "B"} <= set(subdirs) else "pix2pix"
    if layout == "pix2pix":
        split_dirs = [s for s in elements.SPLITS if s in subdirs]
        ignored = [d + "/" for d in subdirs if d not in split_dirs]
        if split_dirs:
            patterns = [_join(root, "*")] + [_join(root, s, "*") for s in split_dirs]
            return InputPlan(root, layout, "folders", tuple(split_dirs), tuple(patterns),
                             tuple(ignored))
        splits = ("train", "val") if val_fraction > 0 else ("train",)
        return InputPlan(root, layout, "hash", splits, (_join(root, "*"),), tuple(ignored))
    if layout != "ab":
        raise ValueError(f"layout must be 'auto', 'pix2pix' or 'ab', got {layout!r}.")
    missing = [s for s in ("A", "B") if s not in subdirs]
    if missing:
        raise FileNotFoundError(f"layout 'ab' needs folders A/ and B/ in {root!r}; missing "
                                f"{missing}. Use layout='pix2pix' for A|B images.")
    ignored = [d + "/" for d in subdirs if d not in ("A", "B")] + files
    side_dirs = {side: _listdir(_join(root, side))[0] for side in ("A", "B")}
    split_dirs = [s for s in elements.SPLITS if any(s in d for d in side_dirs.values())]
    for side, dirs in side_dirs.items():
        ignored += [f"{side}/{d}/" for d in dirs if d not in split_dirs]
    if split_dirs:
        patterns = [_join(root, side, "*") for side in ("A", "B")]
        patterns += [_join(root, side, s, "*") for side in ("A", "B") for s in split_dirs
                     if s in side_dirs[side]]
        return InputPlan(root, layout, "folders", tuple(split_dirs), tuple(patterns),
                         tuple(sorted(ignored)))
    splits = ("train", "val") if val_fraction > 0 else ("train",)
    patterns = tuple(_join(root, side, "*") for side in ("A", "B"))
    return InputPlan(root, layout, "hash", splits, patterns, tuple(sorted(ignored)))


def _classify(path, plan, val_fraction):
    key = elements.classify_path(path, plan.root, plan.layout, plan.split_mode, val_fraction)
    return beam_common.tag(key if isinstance(key, elements.Reject) else (key, path))


@beam.ptransform_fn
def ExtractPairs(pbegin, plan, load_size, direction, val_fraction,  # pylint: disable=invalid-name
                 jpeg_draft="off"):
    """Lists, reads, decodes, validates, splits A|B and resizes every input file.

    Args:
      pbegin: the pipeline.
      plan: an :class:`InputPlan`.
      load_size: side each half is resized to.
      direction: ``"AtoB"`` or ``"BtoA"``.
      val_fraction: held-out share for the hash split.
      jpeg_draft: the splits whose JPEGs are decoded at a reduced DCT scale, a mode of
        :data:`elements.JPEG_DRAFT_MODES` (see :class:`PreprocessConfig`).

    Returns:
      A dict of PCollections: ``records`` (:class:`elements.PairRecord`), ``rejects``
      (:class:`elements.Reject`) and ``listed`` (every listed path).
    """
    listed = (pbegin
              | "CreatePatterns" >> beam.Create(list(plan.patterns))
              | "ListFiles" >> fileio.MatchAll()
              | "Paths" >> beam.Map(lambda metadata: metadata.path))
    classified = (listed
                  | "ClassifyFiles" >> beam.Map(_classify, plan, val_fraction).with_outputs(
                      "rejects", main="files"))
    read = (classified.files
            | "Distribute" >> beam.Reshuffle()
            | "ReadBytes" >> beam.ParDo(beam_common.ReadBytesFn()).with_outputs("rejects", main="files"))
    if plan.layout == "pix2pix":
        processed = (read.files
                     | "DecodeSplitResize" >> beam.Map(
                         lambda e: beam_common.tag(elements.process_pix2pix_file(
                             e[1], e[2], e[0].split, load_size, direction,
                             elements.jpeg_draft_for(jpeg_draft, e[0].split))))
                     .with_outputs("rejects", main="records"))
    else:
        processed = (read.files
                     | "KeyBySplitAndName" >> beam.Map(
                         lambda e: ((e[0].split, e[0].name), (e[0].side, e[1], e[2])))
                     | "GroupAB" >> beam.GroupByKey()
                     | "DecodeResizeAB" >> beam.FlatMap(
                         lambda kv: [beam_common.tag(item) for item in elements.process_ab_pair(
                             kv[0][0], kv[0][1], kv[1], load_size, direction,
                             elements.jpeg_draft_for(jpeg_draft, kv[0][0]))])
                     .with_outputs("rejects", main="records"))
    rejects = ((classified.rejects, read.rejects, processed.rejects)
               | "FlattenRejects" >> beam.Flatten())
    return {"records": processed.records, "rejects": rejects, "listed": listed}


def build_pipeline(pipeline, plan, config, out_dir):
    """Adds the whole preprocessing graph to ``pipeline``, writing under ``out_dir``."""
    pairs = pipeline | "ExtractPairs" >> ExtractPairs(
        plan, config.load_size, config.direction, config.val_fraction, config.jpeg_draft)
    _ = pairs["records"] | "WriteTFRecords" >> WriteSplitTFRecords(
        _join(out_dir, TFRECORD_DIR), plan.splits, config.num_shards)
    _ = pairs["rejects"] | "WriteRejects" >> WriteRejects(_join(out_dir, REJECTS_FILE))
    static = {"layout": plan.layout, "split_mode": plan.split_mode, "direction": config.direction,
              "load_size": config.load_size, "jpeg_draft": config.jpeg_draft,
              "ignored": list(plan.ignored),
              "files_per_record": 1 if plan.layout == "pix2pix" else 2,
              "image_format": "png", "schema_version": schema.SCHEMA_VERSION}
    _ = ((pairs["records"], pairs["rejects"], pairs["listed"])
         | "WriteStats" >> WriteStats(_join(out_dir, STATS_FILE), static, plan.splits))


@dataclasses.dataclass(frozen=True)
class PreprocessResult:
    """Where a preprocessing run's outputs are, and its counts.

    Attributes:
      output_dir: the output folder.
      tfrecords: ``{split: (tfrecord paths, sorted)}``.
      stats_path: ``stats.json``.
      rejects_path: ``rejects.jsonl``.
      config_path: ``config.json``.
      records_per_split: ``{split: number of pairs}``.
      rejects_per_reason: ``{reason: number of files}``.
      stats: the whole stats dict.
      reused: ``True`` when an existing output with the same cache key was returned.
    """
    output_dir: str
    tfrecords: dict
    stats_path: str
    rejects_path: str
    config_path: str
    records_per_split: dict
    rejects_per_reason: dict
    stats: dict
    reused: bool = False

    def file_pattern(self, split):
        """Glob pattern of ``split``'s TFRecords, for :mod:`tfgan_pipeline.data.paired`."""
        if split not in self.tfrecords:
            raise KeyError(
                f"No split {split!r} in {self.output_dir}; have {sorted(self.tfrecords)}.")
        return beam_common.tfrecord_pattern(self.output_dir, split)


def load_preprocess_result(output_dir, reused=False):
    """Reads a finished output folder back into a :class:`PreprocessResult`.

    Raises:
      FileNotFoundError: if ``config.json`` is missing (incomplete or not an output folder).
    """
    output_dir = _normalize_dir(output_dir)
    config_path = _join(output_dir, CONFIG_FILE)
    if not tf.io.gfile.exists(config_path):
        raise FileNotFoundError(f"{config_path} is missing: {output_dir!r} is not a finished "
                                "preprocessing output (rerun run_preprocess).")
    stats_path = _join(output_dir, STATS_FILE)
    stats = beam_common.read_json(stats_path)
    tfrecords = beam_common.list_tfrecords(output_dir, stats["records_per_split"])
    return PreprocessResult(
        output_dir=output_dir, tfrecords=tfrecords, stats_path=stats_path,
        rejects_path=_join(output_dir, REJECTS_FILE), config_path=config_path,
        records_per_split=dict(stats["records_per_split"]),
        rejects_per_reason=dict(stats["rejects_per_reason"]), stats=stats, reused=reused)


def format_summary(result):
    """Human-readable summary of a :class:`PreprocessResult` (printed at the end of a run)."""
    s = result.stats
    splits = ", ".join(f"{k} {v}" for k, v in result.records_per_split.items())
    lines = [f"preprocess {'(reused existing output) ' if result.reused else ''}"
             f"{result.output_dir}: {s['total_records']} pairs ({splits}) from "
             f"{s['files_listed']} files; {s['rejected_files']} files rejected"]
    lines += [f"  rejected {reason}: {n}" for reason, n in result.rejects_per_reason.items()]
    if s.get("ignored"):
        lines.append(f"  not read (not split folders / outside A,B): {', '.join(s['ignored'])}")
    if s["rejected_files"]:
        lines.append(f"  reject list: {result.rejects_path}")
    return "\n".join(lines)


def _cache_key(config, plan, fingerprint):
    return {"preprocess_version": PREPROCESS_VERSION, "schema_version": schema.SCHEMA_VERSION,
            "data_dir": config.data_dir, "layout": plan.layout, "split_mode": plan.split_mode,
            "splits": list(plan.splits), "direction": config.direction,
            "load_size": config.load_size,
            "val_fraction": config.val_fraction if plan.split_mode == "hash" else None,
            "num_shards": config.num_shards, "jpeg_draft": config.jpeg_draft,
            "input_fingerprint": fingerprint}


def run_preprocess(config, overwrite=False, verbose=True):
    """Runs (or reuses) the preprocessing described by ``config``.

    Args:
      config: a :class:`PreprocessConfig`.
      overwrite: replace an existing output whose cache key differs (otherwise that
        raises). An output with the same cache key is always reused.
      verbose: print :func:`format_summary` at the end.

    Returns:
      A :class:`PreprocessResult`.

    Raises:
      FileNotFoundError: if the input folders are missing.
      ValueError: for an ``output_dir`` that holds something else, see ``overwrite``.
      RuntimeError: if the Beam pipeline does not finish in state ``DONE``.
    """
    if not isinstance(config, PreprocessConfig):
        raise TypeError(f"config must be a PreprocessConfig, got {type(config).__name__}.")
    plan = plan_inputs(config.data_dir, config.layout, config.val_fraction)
    fingerprint, n_files = input_fingerprint(plan.patterns)
    reused = beam_common.run_or_reuse(
        config, _cache_key(config, plan, fingerprint),
        lambda pipeline, out: build_pipeline(pipeline, plan, config, out),
        overwrite=overwrite, files_listed=n_files)
    result = load_preprocess_result(config.output_dir, reused=reused)
    if verbose:
        print(format_summary(result))
    return result
