"""What both Beam preprocessing pipelines share, written once.

:mod:`tfgan_pipeline.preprocess.beam_pipeline` (paired images, Isola et al.,
"Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017) and
:mod:`tfgan_pipeline.preprocess.image_pipeline` (single images: MNIST, TFDS, and
CycleGAN's unpaired domains, Zhu et al., ICCV 2017) both use:

* path helpers and argument checks for their frozen configs;
* :func:`pipeline_flags`: explicit Beam flags (the DirectRunner unless
  ``beam_pipeline_args`` names a runner; ``num_workers > 1`` selects its
  ``multi_threading`` mode unless told otherwise), never read from ``sys.argv``;
* :func:`input_fingerprint` and :class:`ReadBytesFn` (unreadable files become rejects);
* the named composites :func:`WriteSplitTFRecords` (one folder of GZIP shards per
  output folder), :func:`WriteRejects` (``rejects.jsonl``) and :func:`WriteStats`
  (``stats.json``, built by a pipeline-specific ``build_stats`` function);
* :func:`build_or_reuse`: an output is built in a hidden sibling temp folder and
  renamed into place, ``config.json`` (holding the cache key) is written last as the
  "complete" marker, and an existing output with the same cache key is reused.
"""

import dataclasses
import hashlib
import json
import os
import uuid

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineState

from tfgan_pipeline.preprocess import elements
from tfgan_pipeline.preprocess import tfrecord_io


class _LazyTF:
    """``tf``, imported on first use: Beam workers unpickle this module's DoFns and
    must not pay TensorFlow's ~6 CPU s import (only the driver's helpers use it)."""

    def __getattr__(self, name):
        import tensorflow  # noqa: PLC0415

        return getattr(tensorflow, name)


tf = _LazyTF()

TFRECORD_DIR = "tfrecords"
TFRECORD_PREFIX = "part"
TFRECORD_SUFFIX = ".tfrecord.gz"
STATS_FILE = "stats.json"
REJECTS_FILE = "rejects.jsonl"
CONFIG_FILE = "config.json"
#: What an interrupted run may leave in an output folder (safe to replace).
OUTPUT_ENTRIES = frozenset({TFRECORD_DIR, STATS_FILE, REJECTS_FILE, CONFIG_FILE + ".tmp"})
GLOB_CHARS = frozenset("*?[]{}")


def is_url(path):
    return "://" in path


def normalize_dir(path):
    """Absolute local path, or a URL without its trailing ``/``."""
    path = os.fspath(path)
    return path.rstrip("/") if is_url(path) else os.path.abspath(path)


def join(*parts):
    """Joins path parts with ``/`` (local paths and URLs alike)."""
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]])


def listdir(path):
    """``(sub-folder names, file names)`` directly in ``path``, each sorted."""
    dirs, files = [], []
    for entry in tf.io.gfile.listdir(path):
        name = entry.rstrip("/")
        (dirs if tf.io.gfile.isdir(join(path, name)) else files).append(name)
    return sorted(dirs), sorted(files)


def read_json(path):
    with tf.io.gfile.GFile(path, "r") as f:
        return json.load(f)


# ---------------------------------------------------------------------------- config checks


def check_int(name, value, low):
    """Raises ``ValueError`` unless ``value`` is an int (not a bool) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")


def check_fraction(name, value):
    """Returns ``value`` as a float in ``[0, 1)`` or raises ``ValueError``."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0.0 <= value < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_beam_args(args):
    """Returns ``beam_pipeline_args`` as a tuple of strings or raises ``TypeError``."""
    if isinstance(args, (str, bytes)) or not all(isinstance(a, str) for a in args):
        raise TypeError("beam_pipeline_args must be a sequence of flag strings such as "
                        f"('--runner=DirectRunner',), got {args!r}.")
    return tuple(args)


def check_path(name, value):
    """Returns ``value`` as a ``str`` path, or raises ``ValueError`` for an empty/non-path one."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"{name} must be a non-empty path, got {value!r}.")
    return os.fspath(value)


class BeamRunConfig:
    """Base of the frozen preprocessing configs (dataclasses with ``output_dir``,
    ``num_shards``, ``num_workers`` and ``beam_pipeline_args``): their shared checks
    and :meth:`to_json_dict`."""

    def _check_run_fields(self, input_name=None):
        """Checks the shared fields; ``input_name`` names the input folder field (if any),
        which must lie apart from ``output_dir`` and hold no glob characters."""
        check_int("num_shards", self.num_shards, 0)
        check_int("num_workers", self.num_workers, 1)
        object.__setattr__(self, "beam_pipeline_args", check_beam_args(self.beam_pipeline_args))
        if input_name is None:
            return
        input_dir = getattr(self, input_name)
        d, o = input_dir + "/", self.output_dir + "/"
        if d.startswith(o) or o.startswith(d):
            raise ValueError(f"output_dir {self.output_dir!r} and {input_name} {input_dir!r} must "
                             "not be the same folder or inside one another; write elsewhere.")
        if GLOB_CHARS & set(input_dir):
            raise ValueError(f"{input_name} {input_dir!r} contains glob characters "
                             f"{sorted(GLOB_CHARS)}; rename the folder.")

    def to_json_dict(self):
        """The config as a JSON-ready dict."""
        d = dataclasses.asdict(self)
        d["beam_pipeline_args"] = list(self.beam_pipeline_args)
        return d


# ---------------------------------------------------------------------------- runner


def pipeline_flags(config):
    """Explicit Beam flags for ``config`` (never read from ``sys.argv``).

    ``--runner=DirectRunner`` unless ``config.beam_pipeline_args`` names a runner; with
    ``config.num_workers > 1`` adds ``--direct_num_workers`` and, unless the args set
    ``--direct_running_mode`` themselves, ``multi_threading``: the per-element work
    (Pillow's decode and resize, ISA-L's deflate) releases the GIL, so worker threads
    scale without starting processes. On the 1,096 maps pairs 2 threads were 1.7x one
    worker, where 2 processes (``--direct_running_mode=multi_processing``) were 1.5x:
    each process starts a Python interpreter and imports Beam, and every element
    crosses the runner's data plane (BUILD.md "Performance").

    Raises:
      ValueError: if ``num_workers > 1`` with a runner other than the DirectRunner
        (set that runner's worker count through its own flags).
    """
    args = list(config.beam_pipeline_args)
    runner = None
    for i, arg in enumerate(args):
        if arg.startswith("--runner="):
            runner = arg.split("=", 1)[1]
        elif arg == "--runner" and i + 1 < len(args):
            runner = args[i + 1]
    if runner is None:
        args.insert(0, "--runner=DirectRunner")
        runner = "DirectRunner"
    if config.num_workers > 1:
        if runner.lower() not in ("directrunner", "direct"):
            raise ValueError(f"num_workers={config.num_workers} applies to the DirectRunner only; "
                             f"for {runner} set its worker flags in beam_pipeline_args.")
        if not any(a == "--direct_running_mode" or a.startswith("--direct_running_mode=")
                   for a in args):
            args.append("--direct_running_mode=multi_threading")
        args.append(f"--direct_num_workers={config.num_workers}")
    return args


def run_pipeline(flags, build):
    """Builds a pipeline with ``build(pipeline)`` under ``flags``, runs it, checks ``DONE``."""
    pipeline = beam.Pipeline(options=PipelineOptions(flags=list(flags)))
    build(pipeline)
    state = pipeline.run().wait_until_finish()
    if state != PipelineState.DONE:
        raise RuntimeError(f"The preprocessing pipeline ended in state {state}, not DONE; "
                           "its partial output was removed. See the runner's logs.")


# ---------------------------------------------------------------------------- reading


def input_fingerprint(patterns):
    """sha1 over the sorted (path, size, mtime) of every file the patterns match."""
    rows = []
    for match in FileSystems.match(list(patterns)):
        rows += [(m.path, m.size_in_bytes, getattr(m, "last_updated_in_seconds", None))
                 for m in match.metadata_list]
    return hashlib.sha1(json.dumps(sorted(rows)).encode("utf-8")).hexdigest(), len(rows)


class ReadBytesFn(beam.DoFn):
    """``(key, path)`` -> ``(key, path, bytes)``; unreadable files go to ``rejects``.

    ``key`` is an :class:`elements.FileKey`; the reject is ``reject_type.for_key``
    (``read_error``), so each pipeline's rejects keep their own fields.
    """

    def __init__(self, reject_type=elements.Reject):
        super().__init__()
        self._reject_type = reject_type

    def process(self, element):
        key, path = element
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                data = f.read()
        except Exception as e:  # noqa: BLE001 - any I/O failure becomes a reject
            reject = self._reject_type.for_key(path, key, "read_error", f"{type(e).__name__}: {e}")
            yield beam.pvalue.TaggedOutput("rejects", reject)
            return
        yield key, path, data


def tag(item):
    """Routes a :class:`elements.Reject` (or subclass) to the ``rejects`` output."""
    if isinstance(item, elements.Reject):
        return beam.pvalue.TaggedOutput("rejects", item)
    return item


# ---------------------------------------------------------------------------- writers


def tfrecord_pattern(output_dir, folder):
    """Glob pattern of the shards in ``<output_dir>/tfrecords/<folder>/``."""
    return join(output_dir, TFRECORD_DIR, folder, f"{TFRECORD_PREFIX}-*{TFRECORD_SUFFIX}")


def list_tfrecords(output_dir, folders):
    """``{folder: sorted shard paths}`` of a finished output."""
    return {folder: tuple(sorted(tf.io.gfile.glob(tfrecord_pattern(output_dir, folder))))
            for folder in folders}


def _record_split(record):
    return record.split


@beam.ptransform_fn
def WriteSplitTFRecords(records, tfrecord_dir, splits, num_shards,  # pylint: disable=invalid-name
                        folder_of=_record_split):
    """Writes records as GZIP TFRecords of ``tf.train.Example``, one folder per split.

    The GZIP deflate blocks are stored, not compressed
    (:class:`tfgan_pipeline.preprocess.tfrecord_io.StoredGzipTFRecordSink`): the
    payload is PNG, already deflated, and recompressing it saved 0.01% of the bytes
    for 4.5 ms per maps pair.

    Args:
      records: PCollection of objects with ``to_example_bytes()``.
      tfrecord_dir: the ``tfrecords`` folder.
      splits: every output folder name; each gets at least one file, even when
        empty, so readers can rely on the layout.
      num_shards: files per folder, or ``0``: one file per bundle, written by the worker
        that made the bundle's records. A fixed count adds Beam's shuffle of every
        record to a shard key; on the maps pairs with 2 DirectRunner worker processes
        that shuffle (400 MB of PNG bytes through the runner) made the run 1.3x slower.
      folder_of: record -> its folder name in ``splits`` (default: ``record.split``).

    Returns:
      The dict of per-folder write results.
    """
    index = {split: i for i, split in enumerate(splits)}

    def partition(record, n):
        del n
        return index[folder_of(record)]

    parts = records | "PartitionBySplit" >> beam.Partition(partition, len(splits))
    results = {}
    for split, part in zip(splits, parts):
        results[split] = (
            part
            | f"Serialize[{split}]" >> beam.Map(lambda r: r.to_example_bytes())
            | f"Write[{split}]" >> beam.io.Write(tfrecord_io.StoredGzipTFRecordSink(
                join(tfrecord_dir, split, TFRECORD_PREFIX), file_name_suffix=TFRECORD_SUFFIX,
                num_shards=num_shards)))
    return results


def write_lines(lines, path):
    """Writes ``lines`` (strings), each followed by a newline, into the file ``path``.

    The small one-file outputs (``rejects.jsonl``, ``stats.json``) are written by one
    DoFn from one element: Beam's ``WriteToText`` costs ~11 transforms and three stages
    per file (initialise, write bundles, finalise) for a few hundred bytes, which on
    the DirectRunner is a fixed ~0.1 s each. The run writes into a staging folder that
    is published whole (:func:`build_or_reuse`), so a retried element only rewrites
    the same bytes. Returns ``path``.
    """
    with FileSystems.create(path) as f:
        f.write("".join(line + "\n" for line in lines).encode("utf-8"))
    return path


@beam.ptransform_fn
def WriteRejects(rejects, path):  # pylint: disable=invalid-name
    """Writes one JSON line per reject into the single file ``path`` (empty if none),
    sorted, so that reruns give the same bytes."""
    return (rejects
            | "ToJson" >> beam.Map(lambda r: r.to_json())
            | "Collect" >> beam.combiners.ToList()
            | "Write" >> beam.Map(lambda lines: write_lines(sorted(lines), path)))


class CountKeysFn(beam.CombineFn):
    """Counts hashable keys into one dict."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, key):
        acc[key] = acc.get(key, 0) + 1
        return acc

    def merge_accumulators(self, accs):
        out = {}
        for acc in accs:
            for key, count in acc.items():
                out[key] = out.get(key, 0) + count
        return out

    def extract_output(self, acc):
        return acc


@beam.ptransform_fn
def WriteStats(pcolls, path, static_fields, splits,  # pylint: disable=invalid-name
               stat_keys=elements.stat_keys, build_stats=elements.build_stats,
               listed_key="files_listed"):
    """``(records, rejects, listed)`` -> one JSON file of counts.

    Args:
      pcolls: records, rejects, and the listed inputs (one element each).
      path: the JSON file.
      static_fields: extra fields copied into the stats.
      splits: every output folder, reported even when empty.
      stat_keys: record or reject -> list of ``(kind, key)`` counter keys.
      build_stats: ``(counts, static_fields, splits)`` -> JSON-ready dict.
      listed_key: counter kind of the listed inputs (key ``""``).
    """
    records, rejects, listed = pcolls
    keys = ((records | "RecordKeys" >> beam.FlatMap(stat_keys),
             rejects | "RejectKeys" >> beam.FlatMap(stat_keys),
             listed | "ListedKeys" >> beam.Map(lambda _: (listed_key, "")))
            | "FlattenKeys" >> beam.Flatten())
    return (keys
            | "Count" >> beam.CombineGlobally(CountKeysFn())
            | "ToJson" >> beam.Map(lambda counts: json.dumps(
                build_stats(counts, static_fields, splits), indent=2, sort_keys=True))
            | "Write" >> beam.Map(lambda text: write_lines([text], path)))


# ---------------------------------------------------------------------------- publishing


def _remove_or_refuse(output_dir, overwrite, why):
    """Clears an existing ``output_dir`` when allowed; returns whether one existed."""
    if not tf.io.gfile.exists(output_dir):
        return False
    if not overwrite:
        raise ValueError(f"output_dir {output_dir!r} already holds a preprocessing output {why}; "
                         "pass overwrite=True to replace it, or choose another output_dir.")
    return True


def build_or_reuse(output_dir, cache_key, write, saved, overwrite=False):
    """Reuses a finished output with the same cache key, or builds one atomically.

    Args:
      output_dir: the output folder (normalised).
      cache_key: JSON-ready dict of everything that shapes the output.
      write: ``write(folder)`` writes the whole output into ``folder`` (runs Beam).
      saved: more JSON-ready fields for ``config.json`` (next to ``cache_key``).
      overwrite: replace an output whose cache key differs (otherwise that raises).

    Returns:
      ``True`` when an existing output was reused, ``False`` when one was built.

    Raises:
      ValueError: if ``output_dir`` holds an output with another cache key (and not
        ``overwrite``) or anything that is not a preprocessing output.
    """
    out = output_dir
    replace = False
    if tf.io.gfile.exists(out):
        config_path = join(out, CONFIG_FILE)
        if tf.io.gfile.exists(config_path):
            old_key = read_json(config_path).get("cache_key", {})
            if old_key == cache_key:
                return True
            differs = sorted(k for k in set(old_key) | set(cache_key)
                             if old_key.get(k) != cache_key.get(k))
            replace = _remove_or_refuse(out, overwrite, f"made with a different config ({differs})")
        else:
            entries = {e.rstrip("/") for e in tf.io.gfile.listdir(out)}
            if entries - OUTPUT_ENTRIES:
                raise ValueError(f"output_dir {out!r} exists and holds other files "
                                 f"({sorted(entries - OUTPUT_ENTRIES)}); choose an empty or "
                                 "new folder.")
            replace = True  # an interrupted run's leftovers (no config.json): safe to redo
    parent, base = os.path.split(out) if not is_url(out) else out.rsplit("/", 1)
    tf.io.gfile.makedirs(parent)
    tmp = join(parent, f".{base}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        write(tmp)
        if replace:
            old = join(parent, f".{base}.old-{uuid.uuid4().hex[:12]}")
            tf.io.gfile.rename(out, old)
            tf.io.gfile.rename(tmp, out)
            tf.io.gfile.rmtree(old)
        else:
            tf.io.gfile.rename(tmp, out)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.rmtree(tmp)
        raise
    with tf.io.gfile.GFile(join(out, CONFIG_FILE + ".tmp"), "w") as f:
        json.dump({**saved, "cache_key": cache_key}, f, indent=2, sort_keys=True)
    tf.io.gfile.rename(join(out, CONFIG_FILE + ".tmp"), join(out, CONFIG_FILE), overwrite=True)
    return False


def run_or_reuse(config, cache_key, add_graph, overwrite=False, **saved):
    """:func:`build_or_reuse` of ``config.output_dir`` whose writer runs a Beam pipeline.

    Args:
      config: a :class:`BeamRunConfig` dataclass.
      cache_key: see :func:`build_or_reuse`.
      add_graph: ``add_graph(pipeline, folder)`` adds the graph that writes into ``folder``.
      overwrite: see :func:`build_or_reuse`.
      **saved: more fields for ``config.json``, next to ``config`` and ``beam_flags``.

    Returns:
      ``True`` when an existing output was reused.
    """
    flags = pipeline_flags(config)
    return build_or_reuse(
        config.output_dir, cache_key,
        lambda tmp: run_pipeline(flags, lambda pipeline: add_graph(pipeline, tmp)),
        {"config": config.to_json_dict(), "beam_flags": flags, **saved}, overwrite=overwrite)
