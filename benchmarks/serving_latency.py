"""Latency of the pix2pix serving signature vs calling the generator directly.

Exports a 256x256 pix2pix U-Net generator (Isola et al., CVPR 2017, Sec. 3.2.1:
the paper's architecture; random weights unless --generator_path is given) with
:func:`tfgan_pipeline.export.export_saved_model`, loads it back with
``tf.saved_model.load`` and times, per request of one image:

* ``direct``: ``tf.function(lambda x: generator(x, training=False))`` on an already
  decoded float32 tensor (the floor: no decode, no encode, no SavedModel);
* ``serving_float``: the loaded ``serving_float`` signature on the same tensor
  (cost of the SavedModel call path alone);
* ``serving_default``: the loaded ``serving_default`` signature on one 256x256 PNG
  (decode + resize + scale + generator + quantise + PNG encode).

The three are interleaved in every round so that machine load drifts hit them
alike. Prints p50/p95 in milliseconds and the serving_default/direct ratios
(target: p50 ratio <= 1.3). Figures only; nothing is asserted.

Usage::

    python benchmarks/serving_latency.py [--runs 50] [--warmup 5]
        [--generator_path model.keras] [--base_filters 64] [--output_dir DIR]
"""

import argparse
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfgan_pipeline import export, networks
from tfgan_pipeline.export.signatures import sample_image

IMAGE_SIZE = 256


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per path first")
    parser.add_argument("--generator_path", default=None,
                        help="a saved .keras generator to load instead of building one")
    parser.add_argument("--base_filters", type=int, default=64,
                        help="U-Net base filters when building (64 = the paper)")
    parser.add_argument("--output_dir", default=None,
                        help="where to export (default: a temporary directory)")
    return parser.parse_args()


def _generator(args):
    if args.generator_path:
        import keras  # pylint: disable=import-outside-toplevel
        return keras.saving.load_model(args.generator_path, compile=False)
    return networks.unet_generator(image_size=IMAGE_SIZE, base_filters=args.base_filters)


def _request_png():
    """A photo-like 256x256 PNG: smooth pattern plus sensor-like noise."""
    rng = np.random.default_rng(0)
    pixels = sample_image(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)
    pixels += rng.normal(0.0, 12.0, pixels.shape)
    return tf.io.encode_png(np.clip(np.round(pixels), 0, 255).astype(np.uint8)).numpy()


def _percentiles(samples_s):
    ms = 1000.0 * np.asarray(samples_s)
    return np.percentile(ms, 50), np.percentile(ms, 95)


def main():
    args = _parse_args()
    generator = _generator(args)
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="serving_latency_")
    start = time.perf_counter()
    result = export.export_saved_model(
        output_dir, "pix2pix_latency", export.pix2pix_signatures(generator, IMAGE_SIZE),
        generator, warmup_requests=export.pix2pix_warmup_requests(IMAGE_SIZE))
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    loaded = tf.saved_model.load(result.path)
    load_s = time.perf_counter() - start

    png = _request_png()
    image_bytes = tf.constant([png])
    decoded = tf.constant(tf.io.decode_png(png, channels=3).numpy()[None].astype(np.float32)
                          / 127.5 - 1.0)
    direct_fn = tf.function(lambda x: generator(x, training=False),
                            input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 3])])
    serving_default = loaded.signatures["serving_default"]
    serving_float = loaded.signatures["serving_float"]
    paths = {
        "direct": lambda: direct_fn(decoded).numpy(),
        "serving_float": lambda: serving_float(images=decoded)["output_images"].numpy(),
        "serving_default": lambda: serving_default(image_bytes=image_bytes)[
            "output_png_bytes"].numpy(),
    }
    for _ in range(args.warmup):
        for fn in paths.values():
            fn()
    timings = {name: [] for name in paths}
    for _ in range(args.runs):
        for name, fn in paths.items():
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)

    params = sum(int(np.prod(v.shape)) for v in generator.weights)
    print(f"generator: {generator.name}, {params / 1e6:.1f} M parameters, "
          f"{IMAGE_SIZE}x{IMAGE_SIZE}x3, batch 1; request PNG {len(png)} bytes")
    print(f"device: {tf.config.list_logical_devices()[-1].device_type}, "
          f"threads: {os.cpu_count()} CPUs visible")
    print(f"export (incl. warmup check): {export_s:.1f} s -> {result.path}; load: {load_s:.1f} s")
    print(f"runs: {args.runs} per path after {args.warmup} warmup, interleaved")
    print(f"{'path':<16}{'p50 ms':>10}{'p95 ms':>10}")
    stats = {name: _percentiles(t) for name, t in timings.items()}
    for name, (p50, p95) in stats.items():
        print(f"{name:<16}{p50:>10.1f}{p95:>10.1f}")
    direct50, direct95 = stats["direct"]
    serve50, serve95 = stats["serving_default"]
    print(f"serving_default / direct: p50 {serve50 / direct50:.3f}x, p95 {serve95 / direct95:.3f}x "
          "(target <= 1.3x)")


if __name__ == "__main__":
    main()
