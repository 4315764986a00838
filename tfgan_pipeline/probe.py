"""Measured choices between equivalent computations, timed on this machine.

Which of two equivalent computations is faster depends on the CPU: the two-band
float32 forward of ``networks.conv`` was x1.56 faster on an AMX Xeon's AVX-512 kernels
and x0.76 on an AMD EPYC's AVX2 ones; bfloat16 is ~4x faster than float32 on AMX and
~2x slower on an AVX512-BF16 CPU without AMX (BUILD.md "Performance", fifth and sixth
passes). So the library decides such questions by timing both once per process: this
module holds the timer and the rule (:data:`MARGIN`) that ``networks.conv`` and
``precision`` share.
"""

import time

#: An alternative must take <= this fraction of the reference's time to be chosen: a
#: noise margin, so a near tie keeps the reference path.
MARGIN = 0.9
#: Timed runs per candidate (after one untimed warm-up run); the fastest counts.
REPEATS = 3


def best_time(fn, args):
    """The fastest of :data:`REPEATS` eager runs of ``fn(*args)`` after one warm-up.

    ``fn`` returns one eager tensor; ``.numpy()`` waits for it.
    """
    fn(*args).numpy()
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args).numpy()
        best = min(best, time.perf_counter() - start)
    return best


def beats(ours, theirs):
    """Whether a time ``ours`` wins against ``theirs``: ``ours <= MARGIN * theirs``."""
    return ours <= MARGIN * theirs
