"""Measured choices between equivalent computations, timed on this machine.

Which of two equivalent computations is faster depends on the CPU: the two-band
float32 forward of ``networks.conv`` was x1.56 faster on an AMX Xeon's AVX-512 kernels
and x0.76 on an AMD EPYC's AVX2 ones; bfloat16 is ~4x faster than float32 on AMX,
~2x slower on an AVX512-BF16 Xeon without AMX and ~1.7x faster on an AVX512-BF16 AMD
EPYC (Zen 5) (BUILD.md "Performance", fifth, sixth and ninth passes). So the library
decides such questions by timing both once per process: this module holds the timer
and the rule (:data:`MARGIN`) that ``networks.conv`` and ``precision`` share.
"""

import time

#: An alternative must take <= this fraction of the reference's time to be chosen: a
#: noise margin, so a near tie keeps the reference path.
MARGIN = 0.9
#: Timed runs per candidate (after one untimed warm-up run of each); the fastest counts.
REPEATS = 5


def best_times(calls):
    """The fastest of :data:`REPEATS` eager runs of each ``fn(*args)`` in ``calls``.

    ``calls`` is a sequence of ``(fn, args)``; each ``fn`` returns one eager tensor
    (``.numpy()`` waits for it). Every candidate first runs once untimed (kernel
    creation, first allocations), then the timed runs alternate between the candidates
    round by round, the order reversed every other round, so a burst of load on the
    host or the process's own start-up costs hit all of them rather than whichever was
    timed first. (Timing one candidate's runs after the other's once read bf16 9.4 ms
    against float32 9.1 on a CPU where bf16 is 0.6x float32's time, and chose float32
    for a 1.5x slower step; BUILD.md "Performance", ninth pass.)

    Returns:
      A tuple of seconds, one per call, in ``calls``' order.
    """
    calls = list(calls)
    for fn, args in calls:
        fn(*args).numpy()
    best = [float("inf")] * len(calls)
    for round_index in range(REPEATS):
        order = range(len(calls)) if round_index % 2 == 0 else reversed(range(len(calls)))
        for i in order:
            fn, args = calls[i]
            start = time.perf_counter()
            fn(*args).numpy()
            best[i] = min(best[i], time.perf_counter() - start)
    return tuple(best)


def beats(ours, theirs):
    """Whether a time ``ours`` wins against ``theirs``: ``ours <= MARGIN * theirs``."""
    return ours <= MARGIN * theirs
