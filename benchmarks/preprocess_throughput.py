"""Throughput of the pix2pix Beam preprocessing (tfgan_pipeline.preprocess) on the DirectRunner.

Runs :func:`tfgan_pipeline.preprocess.run_preprocess` on a folder of A|B images
(default: the pix2pix maps train split, Isola et al., CVPR 2017) at load size 286,
once per worker setting (default: 1 worker in-memory, then 2 workers: threads, the
library's default, or processes with ``--running_mode multi_processing``), each into
a fresh temp folder, and prints pairs/s. The wall time includes pipeline start-up
(for worker processes: starting them; the workers import no TensorFlow).
TensorFlow is imported before the first timed run: the driver lists and checks
files with ``tf.io.gfile``, and every pipeline that runs ExampleGen has it loaded
already, so no run pays the ~5 s import. CPU seconds (this process + finished
worker processes) are printed too: unlike pairs/s they do not depend on what else
the machine is running.

    python benchmarks/preprocess_throughput.py [--data_dir DIR] [--limits 0] [--workers 1 2]
        [--rounds 1] [--num_shards 0] [--jpeg_draft [off|train|all]]

``--limits 100 500 0`` times the first 100, the first 500 and all files (how the
wall time grows with the input); ``--rounds 2`` repeats the whole set, alternating
the worker order, and the summary gives the median pairs/s per setting and the
2-worker / 1-worker ratio.
"""

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time

import tensorflow as tf  # noqa: F401 - imported up front, see the module doc

from tfgan_pipeline.preprocess import PreprocessConfig
from tfgan_pipeline.preprocess import run_preprocess
from tfgan_pipeline.preprocess.elements import JPEG_DRAFT_MODES

_DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                             "data", "maps", "train")


def _subset(data_dir, limit, folder):
    """Symlinks the first ``limit`` files (sorted by name) of ``data_dir`` into ``folder``."""
    names = sorted(n for n in os.listdir(data_dir) if os.path.isfile(os.path.join(data_dir, n)))
    os.makedirs(folder)
    for name in names[:limit]:
        os.symlink(os.path.abspath(os.path.join(data_dir, name)), os.path.join(folder, name))
    return folder


def _cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=_DEFAULT_DATA, help="folder of A|B images")
    parser.add_argument("--limits", type=int, nargs="+", default=[0],
                        help="use only the first N files (0: all); several: one run each")
    parser.add_argument("--load_size", type=int, default=286)
    parser.add_argument("--num_shards", type=int, default=0,
                        help="files per split (0, the default: one per bundle, no shuffle)")
    parser.add_argument("--running_mode", default=None,
                        choices=["multi_threading", "multi_processing"],
                        help="DirectRunner mode for > 1 worker (default: the library's, threads)")
    parser.add_argument("--jpeg_draft", nargs="?", const="all",
                        default=PreprocessConfig.jpeg_draft, choices=JPEG_DRAFT_MODES,
                        help="splits whose JPEGs are decoded at a reduced DCT scale (not "
                             "pixel-identical): train (the library's default), all (also "
                             "the bare flag), off (every split exact)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="DirectRunner worker counts to time, in order")
    parser.add_argument("--rounds", type=int, default=1, help="repeats, alternating worker order")
    args = parser.parse_args()
    if not os.path.isdir(args.data_dir):
        parser.error(f"--data_dir {args.data_dir} is not a folder")

    mode_args = (f"--direct_running_mode={args.running_mode}",) if args.running_mode else ()
    scratch = tempfile.mkdtemp(prefix="preprocess_bench_")
    rates = {}
    try:
        print(f"data: {os.path.abspath(args.data_dir)}; load_size {args.load_size}; "
              f"num_shards {args.num_shards}; jpeg_draft {args.jpeg_draft}; "
              f"running mode {args.running_mode or 'default (multi_threading)'}; "
              f"TF {tf.__version__}; cpus {os.cpu_count()}; 1-min load average {os.getloadavg()[0]:.1f}", flush=True)
        for r in range(args.rounds):
            for limit in args.limits:
                data_dir = args.data_dir
                if limit > 0:
                    data_dir = os.path.join(scratch, f"input_{limit}")
                    if not os.path.isdir(data_dir):
                        _subset(args.data_dir, limit, data_dir)
                for workers in (args.workers if r % 2 == 0 else args.workers[::-1]):
                    out = os.path.join(scratch, f"out_{limit}_{workers}")
                    shutil.rmtree(out, ignore_errors=True)
                    config = PreprocessConfig(data_dir=data_dir, output_dir=out,
                                              load_size=args.load_size,
                                              num_shards=args.num_shards, num_workers=workers,
                                              jpeg_draft=args.jpeg_draft,
                                              beam_pipeline_args=mode_args)
                    start, cpu_start = time.perf_counter(), _cpu_seconds()
                    result = run_preprocess(config, verbose=False)
                    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
                    pairs = result.stats["total_records"]
                    rates.setdefault((limit, workers), []).append(pairs / seconds)
                    print(f"files={limit or 'all'} workers={workers}: {pairs} pairs "
                          f"({result.records_per_split}), {result.stats['rejected_files']} "
                          f"rejected, {seconds:.1f} s, {pairs / seconds:.1f} pairs/s; "
                          f"{cpu:.1f} CPU s ({1000 * cpu / max(pairs, 1):.0f} CPU ms/pair); "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
        for limit in args.limits:
            meds = {w: statistics.median(rates[(limit, w)]) for w in args.workers}
            line = ", ".join(f"{w} worker(s) {v:.1f} pairs/s" for w, v in meds.items())
            if len(args.workers) > 1:
                line += (f"; {args.workers[-1]} vs {args.workers[0]}: "
                         f"x{meds[args.workers[-1]] / meds[args.workers[0]]:.2f}")
            print(f"median over {args.rounds} round(s), files={limit or 'all'}: {line}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
