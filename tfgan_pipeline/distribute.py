"""Distribution-strategy factory: ``default``, ``mirrored``, ``multi_worker``, ``one_device``.

Strategies are cached per (kind, devices): TensorFlow assigns collective-op keys
per strategy object starting from the same numbers, so a *second*
``MirroredStrategy`` over the same devices in one process can collide with the
first one's collectives ("Shape mismatch in the collective instance ..."; measured
with synchronized BatchNorm on TF 2.21). Reusing one strategy per device set
avoids it; call :func:`get_strategy` rather than constructing strategies twice.

Reference: TensorFlow guide "Distributed training with TensorFlow" and
"Custom training loop with Keras and MultiWorkerMirroredStrategy".
"""

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "one_device")
_CACHE = {}


def _canonical(device):
    """``/job:localhost/replica:0/task:0/device:CPU:0`` and ``/cpu:0`` -> ``/device:CPU:0``."""
    spec = tf.DeviceSpec.from_string(device)
    if spec.job in (None, "localhost") and spec.device_type is not None:
        return f"/device:{spec.device_type.upper()}:{spec.device_index or 0}"
    return spec.to_string()


def configure_cpu_devices(count):
    """Splits the host CPU into ``count`` logical devices (before TF uses any device).

    With no GPU, ``mirrored`` then runs ``count`` replicas on one machine — how the
    tests check multi-replica training, and a way to try a strategy on a laptop (it
    is not faster: the replicas share the same cores).

    Raises:
      ValueError: for ``count < 1``, or when TensorFlow has already initialised its
        devices (call it first thing, before building any model).
    """
    if int(count) < 1:
        raise ValueError(f"cpu device count must be >= 1, got {count}.")
    if int(count) == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))
    except RuntimeError as e:
        raise ValueError(f"Cannot split the CPU into {count} devices: TensorFlow has already "
                         f"initialised its devices ({e}).") from None


def configure_threads(intra_op=0, inter_op=0):
    """Sets TensorFlow's intra-op and inter-op thread pools (before TF runs any op).

    ``0`` keeps TensorFlow's default for that pool (one thread per core for each). A
    measured lever, not a default: on a 2-core AMD EPYC (Zen 5, AVX512-BF16) the
    pix2pix 256 bf16 step was 1-19% (mostly 4-8%) faster in seven paired runs with 1
    intra-op and 2 inter-op threads (two single-threaded ops at a time instead of one
    op on both cores), float32 within the noise, and on an AMX Xeon one run was 4%
    faster and another 18% slower (BUILD.md "Performance", ninth and third passes).
    The pools are fixed when TensorFlow starts, so no in-process probe can choose
    them: they are the ``--intra_op_threads`` / ``--inter_op_threads`` flags of every
    job.

    Returns:
      ``None`` when both are ``0`` (nothing set), else the ``(intra-op, inter-op)``
      pool sizes TensorFlow now reports (``0``: its default).

    Raises:
      ValueError: for a negative count (naming its flag), or when TensorFlow has already
        started with other pool sizes (call it first thing, before building any model).
    """
    for flag, count in (("intra_op_threads", intra_op), ("inter_op_threads", inter_op)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"--{flag} must be an integer >= 0 (0: TensorFlow's default), "
                             f"got {count!r}.")
    if not (intra_op or inter_op):
        return None
    threading = tf.config.threading
    try:
        if intra_op:
            threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op:
            threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as e:
        raise ValueError(f"Cannot set --intra_op_threads={intra_op} --inter_op_threads="
                         f"{inter_op}: TensorFlow has already started ({e}).") from None
    return (threading.get_intra_op_parallelism_threads(),
            threading.get_inter_op_parallelism_threads())


def get_strategy(name="default", devices=None):
    """Returns a (cached) ``tf.distribute.Strategy``.

    Args:
      name: ``"default"`` (no distribution), ``"mirrored"`` (all local GPUs, or
        every logical CPU when there is no GPU, or ``devices``), ``"multi_worker"``
        (``MultiWorkerMirroredStrategy``; reads the ``TF_CONFIG`` environment
        variable, see BUILD.md) or ``"one_device"`` (first GPU, else CPU, or
        ``devices[0]``).
      devices: optional list of device names for ``mirrored`` / ``one_device``.

    Raises:
      ValueError: for an unknown name.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {list(STRATEGIES)}.")
    if name in ("mirrored", "one_device") and not devices:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        if name == "one_device":
            devices = devices[:1]
    # Canonical device names, so "/cpu:0" and the full name share one cached strategy.
    devices = tuple(_canonical(d) for d in (devices or ()))
    key = (name, devices)
    if key in _CACHE:
        return _CACHE[key]
    if name == "default":
        strategy = tf.distribute.get_strategy()
    elif name == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=list(devices))
    elif name == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.OneDeviceStrategy(devices[0])
    _CACHE[key] = strategy
    return strategy


def unanimous(strategy, index, choices):
    """Whether every replica of ``strategy`` holds the same ``index`` (``0 <= index <
    choices``), with one all-reduce of a one-hot vector over every replica of every worker.

    Every worker must call it at the same point (it is a collective op under
    ``MultiWorkerMirroredStrategy``). Strategies of one process hold one value per
    process and return True without communicating.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    one_hot = tf.one_hot(int(index), int(choices))
    counts = strategy.reduce(tf.distribute.ReduceOp.SUM,
                             strategy.run(lambda: tf.identity(one_hot)), axis=None)
    return int(round(float(counts[int(index)]))) == strategy.num_replicas_in_sync


def task_info(tf_config=None):
    """``(is_chief, task_index)`` of this process in a multi-worker cluster.

    Reads ``TF_CONFIG`` (the JSON ``MultiWorkerMirroredStrategy`` reads). The chief
    is the ``chief`` task, or worker 0 when the cluster has no ``chief`` (Keras'
    convention); without ``TF_CONFIG`` this process is a single-worker chief.

    Raises:
      ValueError: when ``TF_CONFIG`` is not valid JSON or lacks ``task.type``.
    """
    import json
    import os

    raw = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not raw:
        return True, 0
    try:
        config = json.loads(raw)
        task_type, index = config["task"]["type"], int(config["task"].get("index", 0))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"TF_CONFIG is not a valid cluster spec ({e}): {raw!r}") from None
    cluster = config.get("cluster", {})
    if task_type == "chief":
        return True, index
    return (task_type == "worker" and index == 0 and "chief" not in cluster), index
