r"""How far a train step is from this CPU's limit: FLOPs per step and the measured matmul peak.

Counts the multiply-adds of every convolution (and dense layer) of the library's
networks from their static shapes (2 FLOPs per multiply-add; normalisation,
activations and the optimizer are left out: they are memory-bound and small), then
the FLOPs of one training step from how many times each network runs:

* pix2pix (Isola et al. 2017; ``models.Pix2Pix``): the U-Net G runs once forward and
  once backward (input and weight gradients: 2x its forward), so 3 G. The PatchGAN D
  runs forward on the real and on the generated pair (2 D); the D loss backpropagates
  through both (4 D) and the G loss through the generated one, input gradients only
  (1 D): 7 D.
* CycleGAN (Zhu et al. 2017; ``models.CycleGAN``): six generator passes (G(a), F(b),
  F(G(a)), G(F(b)), and the identity terms G(b), F(a)), each with its backward: 18 G;
  six discriminator passes: two on the current fakes for the G loss (forward + input
  gradients: 4 D) and four (real and pooled fakes) for the D loss (12 D): 16 D.

The peak is a 2048x2048 ``tf.matmul`` (oneDNN/Eigen GEMM) in float32 and in bfloat16
(``--dtypes``), timed with one intra-op thread and with all of them. ``step GFLOP /
peak`` is the fastest a step can be on this CPU in that dtype; divide a measured s/step
into the step's GFLOP for the attained rate (``--seconds``).

  .venv/bin/python benchmarks/flops.py [--image_size 256] [--seconds pix2pix=0.87 cyclegan=11.9]
"""

import argparse
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_pipeline import networks  # noqa: E402


_COUNTED = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)


def layer_flops(layer, in_shape, out_shape):
    """2 x multiply-adds of one Conv2D / Conv2DTranspose / Dense layer, from the shapes
    of its input and output at batch 1."""
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h, w, c_in = in_shape
        return 2 * h * w * layer.kernel_size[0] * layer.kernel_size[1] * c_in * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        _, h, w, _ = out_shape
        c_in = in_shape[-1] // layer.groups
        return 2 * h * w * layer.kernel_size[0] * layer.kernel_size[1] * c_in * layer.filters
    return 2 * in_shape[-1] * layer.units


def model_flops(model, size):
    """Forward FLOPs of a functional model on ``size`` x ``size`` images at batch 1
    (shapes from one call on zeros, so fully convolutional models are counted too)."""
    layers = [l for l in model.layers if isinstance(l, _COUNTED)]
    probe = keras.Model(model.inputs, [t for l in layers for t in (l.input, l.output)])
    zeros = [tf.zeros([1, size, size, x.shape[-1]]) for x in model.inputs]
    shapes = [tuple(t.shape) for t in probe(zeros if len(zeros) > 1 else zeros[0])]
    return sum(layer_flops(l, shapes[2 * i], shapes[2 * i + 1]) for i, l in enumerate(layers))


def matmul_peak(threads, dtype="float32", n=2048, repeats=20):
    """GFLOP/s of an n x n ``dtype`` matmul with ``threads`` intra-op threads (0: all)."""
    code = (
        "import os, time, sys\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\n"
        "import tensorflow as tf\n"
        f"t = {threads}\n"
        "if t: tf.config.threading.set_intra_op_parallelism_threads(t)\n"
        "tf.config.threading.set_inter_op_parallelism_threads(1)\n"
        f"a = tf.random.normal([{n}, {n}], dtype='{dtype}')\n"
        f"b = tf.random.normal([{n}, {n}], dtype='{dtype}')\n"
        "f = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))\n"
        "f().numpy(); f().numpy()\n"
        "s = time.perf_counter()\n"
        f"for _ in range({repeats}): f().numpy()\n"
        f"print(2 * {n} ** 3 * {repeats} / (time.perf_counter() - s) / 1e9)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--seconds", nargs="*", default=[],
                   help="measured s/step, e.g. pix2pix=0.87 cyclegan=11.9")
    p.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"],
                   help="matmul dtypes to time (bfloat16 is native only with AMX / AVX512-BF16)")
    args = p.parse_args()
    size = args.image_size
    g = model_flops(networks.unet_generator(size), size)
    d = model_flops(networks.patchgan_discriminator(size), size)
    rg = model_flops(networks.resnet_generator(size, 3), size)
    rd = model_flops(networks.patchgan_discriminator(size, input_channels=0, target_channels=3,
                                                     norm="instance"), size)
    steps = {"pix2pix": 3 * g + 7 * d, "cyclegan": 18 * rg + 16 * rd}
    print(f"{size}x{size}, batch 1; forward GFLOP: U-Net {g / 1e9:.1f}, pix2pix PatchGAN "
          f"{d / 1e9:.1f}, ResNet generator {rg / 1e9:.1f}, CycleGAN PatchGAN {rd / 1e9:.1f}")
    peaks = {}
    for dtype in args.dtypes:
        one, peaks[dtype] = matmul_peak(1, dtype), matmul_peak(0, dtype)
        print(f"{dtype} matmul peak: {one:.0f} GFLOP/s on 1 thread, {peaks[dtype]:.0f} GFLOP/s "
              f"on all {os.cpu_count()} CPUs")
    every = max(peaks.values())
    measured = dict(item.split("=") for item in args.seconds)
    for name, flops in steps.items():
        line = f"{name} step: {flops / 1e9:.1f} GFLOP; at the all-CPU matmul peak " + ", ".join(
            f">= {flops / 1e9 / peak:.3f} s/step in {dtype}" for dtype, peak in peaks.items())
        if name in measured:
            sec = float(measured[name])
            rate = flops / 1e9 / sec
            line += (f"; measured {sec:.3f} s/step = {rate:.0f} GFLOP/s ({rate / every:.0%} of "
                     "the fastest peak)")
        print(line)



if __name__ == "__main__":
    main()
