r"""Throughput of ``GAN.fit`` vs a minimal hand-written tf.function GradientTape loop.

Both train the same DCGAN (same initial weights, same optimizers, same
non-saturating losses) on the same MNIST batches; the script alternates the two
several times and prints images/s for each and the ratio fit / hand (target >= 0.95).

  .venv/bin/python benchmarks/gan_fit_throughput.py [--mnist_dir ../shared/data/mnist]
      [--batch_size 64] [--steps 200] [--repeats 3] [--width 32] [--steps_per_execution 1]

Falls back to random images when the MNIST folder is absent (says so).
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
from tfgan_pipeline.data import mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build(args, init=None):
    gen = networks.dcgan_generator(args.latent_dim, image_size=28, channels=1, width=args.width)
    disc = networks.dcgan_discriminator(image_size=28, channels=1, width=args.width)
    if init is not None:
        gen.set_weights(init[0])
        disc.set_weights(init[1])
    return gen, disc


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def hand_loop_step(gen, disc, d_opt, g_opt, latent_dim):
    """The same math as GAN.train_step with d_steps=1, written by hand."""

    @tf.function(jit_compile=False)
    def step(real):
        batch = tf.shape(real)[0]
        z = tf.random.normal([batch, latent_dim])
        with tf.GradientTape() as tape:
            fake = gen(z, training=True)
            d_loss = tf.reduce_mean(losses.minimax_discriminator_loss(
                disc(real, training=True), disc(fake, training=True)))
        grads = tape.gradient(d_loss, disc.trainable_variables)
        d_opt.apply_gradients(zip(grads, disc.trainable_variables))
        z = tf.random.normal([batch, latent_dim])
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(losses.modified_generator_loss(
                disc(gen(z, training=True), training=True)))
        grads = tape.gradient(g_loss, gen.trainable_variables)
        g_opt.apply_gradients(zip(grads, gen.trainable_variables))
        return d_loss, g_loss

    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mnist_dir", default=os.path.join(HERE, "..", "..", "shared", "data", "mnist"))
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--latent_dim", type=int, default=64)
    p.add_argument("--steps_per_execution", type=int, default=1)
    args = p.parse_args()

    keras.utils.set_random_seed(0)
    if os.path.isdir(args.mnist_dir):
        source = f"real MNIST from {os.path.abspath(args.mnist_dir)}"
        ds = mnist.mnist_dataset(args.mnist_dir, args.batch_size, seed=0)
    else:
        source = "random images (MNIST folder absent)"
        x = np.random.default_rng(0).uniform(-1, 1, (4096, 28, 28, 1)).astype("float32")
        ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(args.batch_size, drop_remainder=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)

    g0, d0 = build(args)
    init = (g0.get_weights(), d0.get_weights())

    gan = models.GAN(*build(args, init), latent_dim=args.latent_dim)
    gan.compile(adam(), adam(), loss="non_saturating",
                steps_per_execution=args.steps_per_execution)
    gen, disc = build(args, init)
    d_opt, g_opt = adam(), adam()
    d_opt.build(disc.trainable_variables)
    g_opt.build(gen.trainable_variables)
    step = hand_loop_step(gen, disc, d_opt, g_opt, args.latent_dim)

    def run_fit(n):
        t = time.perf_counter()
        gan.fit(ds, epochs=1, steps_per_epoch=n, verbose=0)
        return time.perf_counter() - t

    def run_hand(n):
        t = time.perf_counter()
        for real in ds.take(n):
            out = step(real)
        float(out[0])  # wait for the last step
        return time.perf_counter() - t

    run_fit(10)   # trace + warm up
    run_hand(10)
    fit_times, hand_times = [], []
    for _ in range(args.repeats):
        fit_times.append(run_fit(args.steps))
        hand_times.append(run_hand(args.steps))
    fit_ips = args.steps * args.batch_size / statistics.median(fit_times)
    hand_ips = args.steps * args.batch_size / statistics.median(hand_times)
    print(f"data: {source}; DCGAN 28x28 width {args.width}, batch {args.batch_size}, "
          f"{args.steps} steps x {args.repeats} repeats (median), "
          f"steps_per_execution={args.steps_per_execution}, TF {tf.__version__}, "
          f"Keras {keras.__version__}, {os.cpu_count()} CPUs")
    print(f"GAN.fit        : {fit_ips:8.1f} images/s  (runs: "
          + ", ".join(f"{t:.2f}s" for t in fit_times) + ")")
    print(f"hand tf.function: {hand_ips:8.1f} images/s  (runs: "
          + ", ".join(f"{t:.2f}s" for t in hand_times) + ")")
    print(f"ratio fit/hand : {fit_ips / hand_ips:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
