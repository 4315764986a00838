r"""Train-step time of ``Pix2Pix.fit`` vs a minimal hand-written tf.function loop.

Both train the paper's networks (U-Net generator, 70x70 PatchGAN; same initial
weights, Adam 2e-4 / beta1 0.5) with the same math as ``Pix2Pix.train_step``: one
generator forward pass, two gradient tapes, D loss = half the minimax loss, G loss
= non-saturating loss + 100 * L1. The two runs alternate in ``--rounds`` blocks (so
a change in machine load hits both), warm-up steps (tracing) are excluded, and the
script prints the median seconds per step of each and the ratio fit / hand
(target <= 1.0).

  .venv/bin/python benchmarks/pix2pix_step.py [--image_size 256] [--batch_size 1]
      [--steps 20] [--rounds 2] [--warmup 2] [--steps_per_execution 1]
      [--base_filters 64] [--mixed_bfloat16] [--jit_compile]

Paper: Isola et al., "Image-to-Image Translation with Conditional Adversarial
Networks", CVPR 2017 (batch size 1 for most of its experiments).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_pipeline import losses, models, networks  # noqa: E402


def build(args, init=None):
    gen = networks.unet_generator(args.image_size, base_filters=args.base_filters)
    disc = networks.patchgan_discriminator(args.image_size, base_filters=args.base_filters)
    if init is not None:
        gen.set_weights(init[0])
        disc.set_weights(init[1])
    return gen, disc


def hand_loop_step(gen, disc, d_opt, g_opt, l1_weight, jit_compile):
    """The same math as ``Pix2Pix.train_step`` on one device, written by hand."""

    @tf.function(jit_compile=jit_compile)
    def step(source, target):
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            output = gen(source, training=True)
            real = tf.cast(disc([source, target], training=True), tf.float32)
            fake = tf.cast(disc([source, output], training=True), tf.float32)
            d_loss = tf.reduce_mean(0.5 * losses.minimax_discriminator_loss(real, fake))
            l1 = tf.reduce_mean(tf.abs(tf.cast(target, tf.float32) - output), axis=[1, 2, 3])
            g_loss = tf.reduce_mean(losses.modified_generator_loss(fake) + l1_weight * l1)
        d_grads = d_tape.gradient(d_loss, disc.trainable_variables)
        g_grads = g_tape.gradient(g_loss, gen.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, disc.trainable_variables))
        g_opt.apply_gradients(zip(g_grads, gen.trainable_variables))
        return d_loss, g_loss

    return step


class _StepTimer(keras.callbacks.Callback):
    """Seconds per train step from the gaps between ``on_train_batch_end`` calls."""

    def __init__(self, steps_per_execution):
        super().__init__()
        self.k = steps_per_execution
        self.times = []
        self._last = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._last is None:
            self._last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.times.extend([(now - self._last) / self.k] * self.k)
        self._last = now

    def on_train_end(self, logs=None):
        self._last = None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=1)
    p.add_argument("--steps", type=int, default=20, help="timed steps for each of the two")
    p.add_argument("--rounds", type=int, default=2, help="alternating blocks per run")
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed steps (tracing), rounded up to whole executions")
    p.add_argument("--steps_per_execution", type=int, default=1)
    p.add_argument("--base_filters", type=int, default=64)
    p.add_argument("--mixed_bfloat16", action="store_true")
    p.add_argument("--jit_compile", action="store_true")
    args = p.parse_args()
    k = args.steps_per_execution
    if args.steps % (args.rounds * k):
        p.error(f"--steps ({args.steps}) must be a multiple of --rounds * "
                f"--steps_per_execution ({args.rounds * k})")
    if args.warmup % k:
        args.warmup += k - args.warmup % k
        print(f"warm-up rounded up to {args.warmup} steps (whole executions of {k})")
    if args.mixed_bfloat16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.image_size, args.image_size, 3)
    source = rng.uniform(-1, 1, shape).astype("float32")
    target = rng.uniform(-1, 1, shape).astype("float32")
    ds = tf.data.Dataset.from_tensors((source, target)).repeat().prefetch(2)

    g0, d0 = build(args)
    init = (g0.get_weights(), d0.get_weights())
    del g0, d0

    model = models.Pix2Pix(*build(args, init))
    models.compile_preset(model, steps_per_execution=k, jit_compile=args.jit_compile)
    gen, disc = build(args, init)
    # The tutorial's optimizers, written out (not taken from the library's presets).
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt.build(disc.trainable_variables)
    g_opt.build(gen.trainable_variables)
    step = hand_loop_step(gen, disc, d_opt, g_opt, model.l1_weight, args.jit_compile)
    batches = iter(ds)
    timer = _StepTimer(k)

    def run_fit(n):
        model.fit(ds, epochs=1, steps_per_epoch=n, shuffle=False, verbose=0, callbacks=[timer])

    def run_hand(n, times):
        for _ in range(n):
            t = time.perf_counter()
            d_loss, _ = step(*next(batches))
            float(d_loss)  # wait for the step to finish
            times.append(time.perf_counter() - t)

    run_fit(args.warmup)
    run_hand(args.warmup, [])
    timer.times.clear()
    hand_times = []
    block = args.steps // args.rounds
    for _ in range(args.rounds):
        run_fit(block)
        run_hand(block, hand_times)
    fit_s, hand_s = statistics.median(timer.times), statistics.median(hand_times)

    g_params, d_params = model.generator.count_params(), model.discriminator.count_params()
    print(f"pix2pix {args.image_size}x{args.image_size}, batch {args.batch_size}, U-Net "
          f"base {args.base_filters} ({g_params:,} params) + 70x70 PatchGAN ({d_params:,}), "
          f"policy {keras.mixed_precision.global_policy().name}, jit_compile={args.jit_compile}, "
          f"steps_per_execution={k}; {args.steps} timed steps each in {args.rounds} "
          f"alternating rounds after {args.warmup} warm-up steps; TF {tf.__version__}, "
          f"Keras {keras.__version__}, {os.cpu_count()} CPUs, "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    print(f"Pix2Pix.fit      : {fit_s:.4f} s/step (median; min {min(timer.times):.4f}, "
          f"max {max(timer.times):.4f})")
    print(f"hand tf.function : {hand_s:.4f} s/step (median; min {min(hand_times):.4f}, "
          f"max {max(hand_times):.4f})")
    print(f"ratio fit/hand   : {fit_s / hand_s:.3f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
