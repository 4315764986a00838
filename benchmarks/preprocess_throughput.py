"""Throughput of the pix2pix Beam preprocessing (tfgan_pipeline.preprocess) on the DirectRunner.

Runs :func:`tfgan_pipeline.preprocess.run_preprocess` on a folder of A|B images
(default: the pix2pix maps train split, Isola et al., CVPR 2017) at load size 286,
once per worker setting (default: 1 worker in-memory, then 2 worker processes in
``multi_processing`` mode), each into a fresh temp folder, and prints pairs/s.
The wall time includes pipeline start-up (for worker processes: starting them and
importing TensorFlow in each). CPU seconds (this process + finished worker
processes) are printed too: unlike pairs/s they do not depend on what else the
machine is running.

    python benchmarks/preprocess_throughput.py [--data_dir DIR] [--limit N] [--workers 1 2]
"""

import argparse
import os
import resource
import shutil
import tempfile
import time

from tfgan_pipeline.preprocess import PreprocessConfig
from tfgan_pipeline.preprocess import run_preprocess

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
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files (0: all)")
    parser.add_argument("--load_size", type=int, default=286)
    parser.add_argument("--num_shards", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="DirectRunner worker counts to time, in order")
    args = parser.parse_args()
    if not os.path.isdir(args.data_dir):
        parser.error(f"--data_dir {args.data_dir} is not a folder")

    scratch = tempfile.mkdtemp(prefix="preprocess_bench_")
    try:
        data_dir = args.data_dir
        if args.limit > 0:
            data_dir = _subset(args.data_dir, args.limit, os.path.join(scratch, "input"))
        print(f"data: {os.path.abspath(args.data_dir)}"
              f"{f' (first {args.limit} files)' if args.limit > 0 else ''}; "
              f"load_size {args.load_size}; cpus {os.cpu_count()}")
        for workers in args.workers:
            config = PreprocessConfig(data_dir=data_dir,
                                      output_dir=os.path.join(scratch, f"out_{workers}"),
                                      load_size=args.load_size, num_shards=args.num_shards,
                                      num_workers=workers)
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            result = run_preprocess(config, verbose=False)
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
            pairs = result.stats["total_records"]
            print(f"workers={workers}: {pairs} pairs ({result.records_per_split}), "
                  f"{result.stats['rejected_files']} rejected, {seconds:.1f} s, "
                  f"{pairs / seconds:.1f} pairs/s; {cpu:.1f} CPU s "
                  f"({1000 * cpu / max(pairs, 1):.0f} CPU ms/pair)", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
