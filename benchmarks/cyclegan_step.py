r"""CycleGAN train-step time: the library's default path vs a minimal hand-written loop.

Both train CycleGAN at 256x256, batch 1 (Zhu et al., ICCV 2017, Sec. 4 and appendix
7.2): two ResNet-9 generators (c7s1-64, d128, d256, 9 x R256 (6 below 256 px), u128, u64, c7s1-3;
reflection padding, instance norm) and two 70x70 PatchGANs (instance norm),
least-squares GAN loss, cycle loss x10, identity loss x5, Adam 2e-4 / beta1 0.5,
both players updated from one shared forward pass. Run in one process, in
alternating rounds; the script prints the median seconds per step of each and
their ratio.

* ``hand`` -- written here from the paper in plain Keras layers and one
  ``@tf.function`` with two gradient tapes, float32, Keras' Adam: nothing from
  ``tfgan_pipeline``. (It skips the 50-image history pools: two small copies per
  step.)
* ``library`` -- what ``python -m pipelines.cyclegan`` trains with no performance
  flag: ``networks.resnet_generator`` / ``networks.patchgan_discriminator`` in
  ``models.CycleGAN`` via ``compile_preset`` (fused Adam, linear-decay schedule) under
  the policy ``--precision=auto`` picks, ``model.fit``.

``--variants`` as in ``pix2pix_step.py`` (``library:float32:unfused`` ...);
``:kerasin`` trains the instance-norm layers with Keras' ``GroupNormalization`` ops
instead of the fused kernel (``networks.instance_norm``): what that kernel bought.

  .venv/bin/python benchmarks/cyclegan_step.py [--image_size 256] [--steps 8]
      [--rounds 4] [--warmup 2] [--variants hand library ...]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_step import (TimedRunner, _StepTimer, alternate_rounds, cpu_summary,  # noqa: E402
                          fit_times, keras_ops, time_calls)
from tfgan_pipeline import models, networks, precision  # noqa: E402
from tfgan_pipeline.networks.instance_norm import FusedInstanceNormalization  # noqa: E402


# ------------------------------------------------------------ the hand-written loop
class InstanceNorm(keras.layers.Layer):
    def build(self, shape):
        self.scale = self.add_weight(shape=shape[-1:], initializer=keras.initializers.RandomNormal(
            1.0, 0.02))
        self.offset = self.add_weight(shape=shape[-1:], initializer="zeros")

    def call(self, x):
        mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return self.scale * (x - mean) * tf.math.rsqrt(var + 1e-5) + self.offset


def reflect(x, p):
    return keras.layers.Lambda(lambda t: tf.pad(t, [[0, 0], [p, p], [p, p], [0, 0]], "REFLECT"))(x)


def init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def hand_blocks(size):
    """Residual blocks of the paper's generator: 9 from 256x256, 6 below (App. 7.2)."""
    return 9 if size >= 256 else 6


def hand_generator(size):
    def conv(x, filters, kernel, stride=1, pad=0, act=True):
        if pad:
            x = reflect(x, pad)
        x = keras.layers.Conv2D(filters, kernel, stride, "valid" if pad else "same",
                                use_bias=False, kernel_initializer=init())(x)
        x = InstanceNorm()(x)
        return keras.layers.ReLU()(x) if act else x

    inp = keras.Input((size, size, 3))
    x = conv(inp, 64, 7, pad=3)
    x = conv(x, 128, 3, 2)
    x = conv(x, 256, 3, 2)
    for _ in range(hand_blocks(size)):
        x = keras.layers.Add()([x, conv(conv(x, 256, 3, pad=1), 256, 3, pad=1, act=False)])
    for filters in (128, 64):
        x = keras.layers.Conv2DTranspose(filters, 3, 2, "same", use_bias=False,
                                         kernel_initializer=init())(x)
        x = keras.layers.ReLU()(InstanceNorm()(x))
    x = keras.layers.Conv2D(3, 7, kernel_initializer=init())(reflect(x, 3))
    return keras.Model(inp, keras.layers.Activation("tanh")(x))


def hand_discriminator(size):
    inp = keras.Input((size, size, 3))
    x = inp
    for i, (filters, stride) in enumerate(((64, 2), (128, 2), (256, 2), (512, 1))):
        x = keras.layers.Conv2D(filters, 4, stride, kernel_initializer=init(),
                                use_bias=i == 0)(keras.layers.ZeroPadding2D(1)(x))
        if i:
            x = InstanceNorm()(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(1, 4, kernel_initializer=init())(keras.layers.ZeroPadding2D(1)(x))
    return keras.Model(inp, x)


def hand_step_fn(size):
    g_ab, g_ba = hand_generator(size), hand_generator(size)
    d_a, d_b = hand_discriminator(size), hand_discriminator(size)
    g_vars = g_ab.trainable_variables + g_ba.trainable_variables
    d_vars = d_a.trainable_variables + d_b.trainable_variables
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)

    def mse(x, target):
        return tf.reduce_mean(tf.square(x - target))

    @tf.function
    def step(a, b):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_b, fake_a = g_ab(a, training=True), g_ba(b, training=True)
            cycle = (tf.reduce_mean(tf.abs(g_ba(fake_b, training=True) - a))
                     + tf.reduce_mean(tf.abs(g_ab(fake_a, training=True) - b)))
            identity = (tf.reduce_mean(tf.abs(g_ab(b, training=True) - b))
                        + tf.reduce_mean(tf.abs(g_ba(a, training=True) - a)))
            score_fb, score_fa = d_b(fake_b, training=True), d_a(fake_a, training=True)
            g_loss = mse(score_fb, 1.0) + mse(score_fa, 1.0) + 10 * cycle + 5 * identity
            d_fake_b = d_b(tf.stop_gradient(fake_b), training=True)
            d_fake_a = d_a(tf.stop_gradient(fake_a), training=True)
            d_loss = 0.5 * (mse(d_b(b, training=True), 1.0) + mse(d_fake_b, 0.0)
                            + mse(d_a(a, training=True), 1.0) + mse(d_fake_a, 0.0))
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        return d_loss

    return step, sum(m.count_params() for m in (g_ab, g_ba, d_a, d_b))


# ------------------------------------------------------------------ the library
def parse_variant(text):
    parts = text.split(":")
    if parts[0] == "hand":
        return {"kind": "hand", "label": "hand-written loop (fp32)"}
    spec = {"kind": "library", "precision": "auto", "fused": True, "fused_in": True}
    for part in parts[1:]:
        if part == "kerasin":
            spec["fused_in"] = False
        elif part in precision.PRECISIONS:
            spec["precision"] = part
        elif part in ("fused", "unfused"):
            spec["fused"] = part == "fused"
        else:
            raise ValueError(f"unknown variant part {part!r}")
    spec["policy"] = precision.resolve_precision(spec["precision"]).policy
    auto = " (auto)" if spec["precision"] == "auto" else ""
    spec["label"] = (f"library {spec['policy']}{auto}, "
                     f"{'fused' if spec['fused'] else 'unfused'} Adam"
                     + ("" if spec["fused_in"] else ", Keras instance norm"))
    return spec


def keras_instance_norm(*nets):
    """Makes the networks' FusedInstanceNormalization layers take Keras' own ops."""
    keras_ops(FusedInstanceNormalization, *nets)


class Runner(TimedRunner):
    def __init__(self, spec, size, batch):
        super().__init__(spec)
        if spec["kind"] == "hand":
            self.step, self.params = hand_step_fn(size)
            self.batch = tuple(tf.constant(x) for x in batch)
        else:
            keras.mixed_precision.set_global_policy(spec["policy"])
            gens = [networks.resnet_generator(size, 3, name=n) for n in ("g_ab", "g_ba")]
            discs = [networks.patchgan_discriminator(size, input_channels=0, target_channels=3,
                                                     norm="instance", name=n)
                     for n in ("d_a", "d_b")]
            self.model = models.compile_preset(
                models.CycleGAN(*gens, *discs, image_shape=(size, size, 3)),
                learning_rate=models.LinearDecayToZero(2e-4, 200_000), fused_adam=spec["fused"])
            keras.mixed_precision.set_global_policy("float32")
            if not spec["fused_in"]:
                keras_instance_norm(*gens, *discs)
            self.params = sum(n.count_params() for n in gens + discs)
            self.ds = tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)
            self.timer = _StepTimer(1)

    def steps(self, n):
        if self.spec["kind"] == "hand":
            return time_calls(lambda: float(self.step(*self.batch)), n)
        return fit_times(self.model, self.ds, self.timer, n)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--variants", nargs="+", default=["hand", "library"])
    args = p.parse_args()
    if args.steps % args.rounds:
        p.error("--steps must be a multiple of --rounds")
    rng = np.random.default_rng(0)
    shape = (1, args.image_size, args.image_size, 3)
    batch = tuple(rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))
    keras.utils.set_random_seed(0)
    runners = [Runner(parse_variant(v), args.image_size, batch) for v in args.variants]
    load = alternate_rounds(runners, args.steps, args.rounds, args.warmup)
    print(f"CycleGAN {args.image_size}x{args.image_size} ResNet-{hand_blocks(args.image_size)}, batch 1; {cpu_summary()}; "
          f"TF {tf.__version__}; {precision.resolve_precision('auto').describe()}")
    print(f"{args.steps} timed steps each in {args.rounds} alternating rounds after "
          f"{args.warmup} warm-up; 1-min load average {min(load):.1f}-{max(load):.1f}")
    for r in runners:
        print(r.line(42, base=runners[0]))


if __name__ == "__main__":
    main()
