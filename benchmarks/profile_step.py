r"""Where a pix2pix / CycleGAN train step spends its time, by op type (TF profiler).

Builds the model the pipeline trains by default (pix2pix: U-Net + 70x70 PatchGAN;
CycleGAN: two ResNet generators + two 70x70 instance-norm PatchGANs), compiles it
with the paper preset, runs ``--warmup`` steps of ``model.fit`` (tracing), then
records ``--steps`` steps with ``tf.profiler.experimental`` and sums the duration of
every TensorFlow op executed on the executor threads into categories:

  conv fwd / conv bwd            Conv2D (and oneDNN's fused variants) outside /
                                 inside ``gradient_tape/``, and the matmuls of
                                 ``networks.conv``'s layers (im2col weight gradient,
                                 dense layers)
  tconv fwd / tconv bwd          the same for Conv2DTranspose layers
  norm fwd / norm bwd            ops of BatchNormalization / GroupNormalization layers
  elementwise fwd / bwd          activations, pads, concats, losses, casts, ...
  optimizer                      the Adam update (ops under the optimizers' scopes)
  input (GetNext wait)           the step waiting for the next batch
  other

It prints per-step milliseconds of op time per category (ops on the two executor
threads can overlap, so the sum may exceed the wall time), the profiled wall time
per step, the top op types, and the tf.data threads' busy time (decode, jitter:
overlapped with the step by prefetching). ``--data`` takes a folder of
preprocessed pairs (``run_preprocess`` output) to train on the real input pipeline;
without it a constant in-memory batch is used.

  .venv/bin/python benchmarks/profile_step.py [--model pix2pix|cyclegan]
      [--image_size 256] [--batch_size 1] [--steps 6] [--warmup 3]
      [--precision auto|float32|mixed_bfloat16] [--data DIR] [--top 25]
      [--unfused] [--kerasbn] [--noremap] [--top_ops 40]

``--unfused`` profiles Keras' own Adam update (the tutorial's), ``--kerasbn`` Keras'
own BatchNorm ops instead of the fused kernel, ``--noremap`` turns Grappler's
remapper (oneDNN op fusions) off: ``--unfused --kerasbn`` is the "before" of
BUILD.md "Performance".

Set ``ONEDNN_MAX_CPU_ISA=AVX512_CORE`` to stand in for a CPU without AMX and
AVX512-BF16 (oneDNN then uses neither).
"""

import argparse
import collections
import glob
import os
import re
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from tfgan_pipeline import models, networks, precision  # noqa: E402

CATEGORIES = ("conv fwd", "conv bwd", "tconv fwd", "tconv bwd", "norm fwd", "norm bwd",
              "elementwise fwd", "elementwise bwd", "optimizer", "input (GetNext wait)",
              "other")


def build_model(name, image_size, base_filters=64, fused_adam=True):
    """The pipeline's default model of family ``name``, compiled with the paper preset."""
    if name == "pix2pix":
        model = models.Pix2Pix(
            networks.unet_generator(image_size, base_filters=base_filters),
            networks.patchgan_discriminator(image_size, base_filters=base_filters))
        return models.compile_preset(model, fused_adam=fused_adam)
    gens = [networks.resnet_generator(image_size, 3, base_filters=base_filters, name=n)
            for n in ("generator_ab", "generator_ba")]
    discs = [networks.patchgan_discriminator(image_size, input_channels=0, target_channels=3,
                                             base_filters=base_filters, norm="instance", name=n)
             for n in ("discriminator_a", "discriminator_b")]
    model = models.CycleGAN(*gens, *discs, image_shape=(image_size, image_size, 3))
    return models.compile_preset(model, learning_rate=models.LinearDecayToZero(2e-4, 10 ** 6),
                                 fused_adam=fused_adam)


def synthetic_dataset(batch_size, image_size):
    rng = np.random.default_rng(0)
    shape = (batch_size, image_size, image_size, 3)
    pair = tuple(rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))
    return tf.data.Dataset.from_tensors(pair).repeat().prefetch(2)


def real_dataset(folder, model_name, batch_size, image_size):
    from tfgan_pipeline.data import paired, single  # noqa: PLC0415
    pattern = os.path.join(folder, "tfrecords", "train", "*.tfrecord*")
    if model_name == "pix2pix":
        return paired.paired_train_dataset(pattern, batch_size, image_size,
                                           load_size=image_size + image_size // 8 + 1, seed=0)
    return single.unpaired_dataset(os.path.join(folder, "tfrecords", "trainA", "*"),
                                   os.path.join(folder, "tfrecords", "trainB", "*"),
                                   batch_size, image_size, seed=0)


def layer_sets(model):
    """Names of the transposed-convolution and normalisation layers of every network."""
    tconv, norm = set(), set()
    for net in model.generator_networks() + model.discriminator_networks():
        for layer in net.layers:
            if isinstance(layer, keras.layers.Conv2DTranspose):
                tconv.add(layer.name)
            elif isinstance(layer, (keras.layers.BatchNormalization,
                                    keras.layers.GroupNormalization)):
                norm.add(layer.name)
    return tconv, norm


def _layer_of(op_name, names):
    for part in op_name.split("/"):
        base = re.sub(r"_\d+$", "", part)
        if part in names or base in names:
            return base
    return None


def categorize(op_name, op_type, tconv, norm):
    """One of :data:`CATEGORIES` for a TF op (``op_name`` as traced, ``op_type``)."""
    grad = "gradient_tape/" in op_name
    lowered = op_name.lower()
    if op_type in ("IteratorGetNext", "IteratorGetNextAsOptional", "OptionalGetValue"):
        return "input (GetNext wait)"
    if re.search(r"(^|/)(adam|sgd|rmsprop|optimizer)(_\d+)?/", lowered) and not grad:
        return "optimizer"
    matmul = op_type in ("MatMul", "_MklMatMul", "BatchMatMulV2", "_MklBatchMatMulV2",
                         "ExtractImagePatches")
    if "Conv2D" in op_type or "Conv2DBackprop" in op_type or (matmul and "conv" in lowered):
        # matmuls in a conv layer: networks.conv's im2col + matmul weight gradient and its
        # dense layers (tap matrix and channel matmuls, forward and backward)
        kind = "tconv" if _layer_of(op_name, tconv) else "conv"
        return f"{kind} {'bwd' if grad else 'fwd'}"
    if _layer_of(op_name, norm) or "BatchNorm" in op_type:
        return f"norm {'bwd' if grad else 'fwd'}"
    if op_type in ("NoOp", "Const", "Identity", "_Retval", "_Arg"):
        return "other"
    return f"elementwise {'bwd' if grad else 'fwd'}"


def read_profile(logdir):
    """``(ops, data_busy_ps)``: ``[(op_name, op_type, ps)]`` of the executor threads and the
    tf.data threads' total busy picoseconds."""
    files = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    space = xplane_pb2.XSpace()
    with open(files[-1], "rb") as f:
        space.ParseFromString(f.read())
    ops, data_ps = [], 0
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            if line.name.startswith("tf_data_iterator_resource"):
                data_ps += sum(e.duration_ps for e in line.events
                               if plane.event_metadata[e.metadata_id].name.startswith("Iterator::")
                               and "::" not in plane.event_metadata[e.metadata_id].name[10:])
                continue
            if not line.name.startswith("tf_Compute"):
                continue
            for e in line.events:
                name = plane.event_metadata[e.metadata_id].name
                if ":" not in name or name.startswith(("ExecutorState", "ThreadpoolListener")):
                    continue
                op_name, op_type = name.rsplit(":", 1)
                ops.append((op_name, op_type, e.duration_ps))
    return ops, data_ps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", choices=("pix2pix", "cyclegan"), default="pix2pix")
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=1)
    p.add_argument("--base_filters", type=int, default=64)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--precision", default="auto", choices=precision.PRECISIONS)
    p.add_argument("--data", help="preprocessed pairs folder (default: in-memory batch)")
    p.add_argument("--top", type=int, default=25, help="op types to list")
    p.add_argument("--top_ops", type=int, default=0,
                   help="also list this many single ops (by traced name), slowest first")
    p.add_argument("--unfused", action="store_true",
                   help="Keras' own Adam update instead of the default fused one ('before')")
    p.add_argument("--noremap", action="store_true", help="Grappler's remapper off")
    p.add_argument("--kerasbn", action="store_true",
                   help="Keras' own BatchNorm ops instead of the fused kernel ('before')")
    p.add_argument("--keep", help="keep the profile in this folder (TensorBoard's Profile tab)")
    args = p.parse_args()

    choice = precision.resolve_precision(args.precision)
    keras.mixed_precision.set_global_policy(choice.policy)
    keras.utils.set_random_seed(0)
    if args.noremap:  # read at every call of the step function, so set for the whole run
        tf.config.optimizer.set_experimental_options({"remapping": False})
    model = build_model(args.model, args.image_size, args.base_filters,
                        fused_adam=not args.unfused)
    if args.kerasbn:
        from pix2pix_step import keras_batch_norm  # noqa: PLC0415
        keras_batch_norm(*model.generator_networks(), *model.discriminator_networks())
    ds = (real_dataset(args.data, args.model, args.batch_size, args.image_size) if args.data
          else synthetic_dataset(args.batch_size, args.image_size))
    model.fit(ds, epochs=1, steps_per_epoch=args.warmup, verbose=0)
    logdir = args.keep or tempfile.mkdtemp(prefix="profile_step_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0)
    wall = (time.perf_counter() - start) / args.steps
    tf.profiler.experimental.stop()
    ops, data_ps = read_profile(logdir)
    if not args.keep:
        shutil.rmtree(logdir, ignore_errors=True)

    tconv, norm = layer_sets(model)
    per_cat, per_type, per_op = collections.Counter(), collections.Counter(), collections.Counter()
    for op_name, op_type, ps in ops:
        cat = categorize(op_name, op_type, tconv, norm)
        per_cat[cat] += ps
        per_type[(cat, op_type)] += ps
        per_op[(op_name, op_type)] += ps
    total = sum(per_cat.values())
    ms = 1e-9 / args.steps  # ps -> ms per step
    print(f"{args.model} {args.image_size}x{args.image_size} batch {args.batch_size}, "
          f"{choice.describe()}; {'Keras (unfused)' if args.unfused else 'fused'} Adam; "
          f"remapper {'off' if args.noremap else 'on'}; "
          f"{'Keras' if args.kerasbn else 'fused'} BatchNorm; TF {tf.__version__}, {os.cpu_count()} CPUs; "
          f"data: {args.data or 'in-memory batch'}; {args.steps} profiled steps; "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '-')}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"wall time under the profiler: {1000 * wall:.0f} ms/step; op time "
          f"{total * ms:.0f} ms/step (two executor threads may overlap)")
    print(f"{'category':24s} {'ms/step':>9s} {'share':>7s}")
    for cat in CATEGORIES:
        if per_cat[cat]:
            print(f"{cat:24s} {per_cat[cat] * ms:9.1f} {100 * per_cat[cat] / total:6.1f}%")
    print(f"{'tf.data threads (overlapped)':24s} {data_ps * ms:9.1f}")
    print("top op types:")
    for (cat, op_type), ps in per_type.most_common(args.top):
        print(f"  {ps * ms:8.1f} ms  {100 * ps / total:5.1f}%  {op_type:42s} [{cat}]")
    if args.top_ops:
        print("top ops:")
    for (op_name, op_type), ps in per_op.most_common(args.top_ops):
        print(f"  {ps * ms:8.1f} ms  {100 * ps / total:5.1f}%  {op_type:36s} {op_name}")


if __name__ == "__main__":
    main()
