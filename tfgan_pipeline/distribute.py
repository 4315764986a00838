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
    key = (name, tuple(devices) if devices else None)
    if key in _CACHE:
        return _CACHE[key]
    if name == "default":
        strategy = tf.distribute.get_strategy()
    elif name == "mirrored":
        if devices is None:
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(devices=list(devices))
    elif name == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        if devices:
            device = devices[0]
        else:
            gpus = tf.config.list_logical_devices("GPU")
            device = gpus[0].name if gpus else "/cpu:0"
        strategy = tf.distribute.OneDeviceStrategy(device)
    _CACHE[key] = strategy
    return strategy
