"""Adam's update in one fused kernel per variable, for the image-to-image models.

Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Alg. 1 (with
the "epsilon-hat" form of Sec. 2 that Keras and TensorFlow use)::

    alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
    w -= alpha * m / (sqrt(v) + epsilon)

Keras 3's ``Adam.update_step`` writes this as eight separate TensorFlow ops per
variable (sub, mul, assign-add, square, sqrt, add, div, assign-sub), each one a full
pass over memory. On pix2pix's 57M parameters that was ~23% of the op time of a
256x256 batch-1 CPU step (BUILD.md, "Performance"): memory-bound elementwise work,
not arithmetic. TensorFlow's ``ResourceApplyAdam`` kernel computes exactly the same
formula (``training_ops.cc``: same alpha, same epsilon placement) in one
vectorised, multi-threaded pass over ``w, m, v, g``. The one rounding difference:
Keras multiplies by the float32 of the double ``1 - beta_2``, the kernel by
``1 - float32(beta_2)`` (for 0.999: 0.001 vs 0.00099998713, 1.3e-5 relative in the
second moment's increment).

:func:`fuse` switches a plain ``keras.optimizers.Adam`` to that kernel *in place*:
the optimizer object, its slots (``m``, ``v``), its ``iterations`` counter, its
learning-rate schedule, its checkpoint layout and its ``tf.distribute`` handling
(gradient all-reduce, per-replica update) are Keras' own; only the per-variable
arithmetic of ``update_step`` is replaced. Optimizers with options the kernel does
not cover (AMSGrad, weight decay, clipping, EMA, gradient accumulation, subclasses)
are left alone. ``tests/models/test_fused_adam.py`` checks the fused update
against Keras' by value, on one device and under ``MirroredStrategy``.
"""

import types

import keras
import tensorflow as tf

#: Attribute set on an optimizer once :func:`fuse` has switched it.
FUSED_FLAG = "_tfgan_fused_adam"


def can_fuse(optimizer):
    """Whether ``optimizer`` is a plain Keras Adam whose update the fused kernel reproduces."""
    if type(optimizer) is not keras.optimizers.Adam or keras.backend.backend() != "tensorflow":
        return False
    unsupported = (optimizer.amsgrad, optimizer.weight_decay is not None,
                   optimizer.clipnorm is not None, optimizer.clipvalue is not None,
                   optimizer.global_clipnorm is not None, optimizer.use_ema,
                   getattr(optimizer, "gradient_accumulation_steps", None) is not None)
    return not any(unsupported)


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (the local replica's)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


def _fused_update_step(self, gradient, variable, learning_rate):
    """``Adam.update_step`` as one ``ResourceApplyAdam`` (same formula, one pass)."""
    if isinstance(gradient, tf.IndexedSlices):  # sparse: Keras' own path
        return keras.optimizers.Adam.update_step(self, gradient, variable, learning_rate)
    dtype = variable.dtype
    local_step = tf.cast(self.iterations + 1, dtype)
    index = self._get_variable_index(variable)
    beta_1 = tf.cast(self.beta_1, dtype)
    beta_2 = tf.cast(self.beta_2, dtype)
    return tf.raw_ops.ResourceApplyAdam(
        var=_handle(variable), m=_handle(self._momentums[index]),
        v=_handle(self._velocities[index]),
        beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
        lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
        epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        use_locking=False, use_nesterov=False)


def fuse(optimizer):
    """Makes a plain ``keras.optimizers.Adam`` update with the fused kernel; in place.

    Returns:
      ``True`` if ``optimizer`` now uses (or already used) the fused update, ``False``
      if it is not one :func:`can_fuse` accepts (it is then left unchanged).
    """
    if getattr(optimizer, FUSED_FLAG, False):
        return True
    if not can_fuse(optimizer):
        return False
    optimizer.update_step = types.MethodType(_fused_update_step, optimizer)
    setattr(optimizer, FUSED_FLAG, True)
    return True


def is_fused(optimizer):
    """Whether :func:`fuse` switched ``optimizer``."""
    return bool(getattr(optimizer, FUSED_FLAG, False))
