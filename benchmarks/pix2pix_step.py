r"""pix2pix train-step time: the library's default path vs the TF tutorial's loop.

Two (or more) ways to train pix2pix 256x256 at batch 1 run in one process, in
alternating rounds (so a change in machine load hits all of them), and the script
prints the median seconds per step of each and the ratios against the tutorial:

* ``tutorial`` -- an independent re-typing of the TensorFlow pix2pix tutorial
  (tensorflow.org/tutorials/generative/pix2pix): its ``downsample``/``upsample``
  blocks, ``Generator()``, ``Discriminator()``, BinaryCrossentropy losses with
  LAMBDA = 100, two Keras Adam(2e-4, beta_1=0.5) and its ``@tf.function
  train_step``, in float32. Nothing of it comes from ``tfgan_pipeline``.
* ``library`` -- what ``python -m pipelines.pix2pix`` trains with no performance
  flag: ``networks.unet_generator`` + ``networks.patchgan_discriminator`` in
  ``models.Pix2Pix`` (BatchNorm with the fused kernel), ``models.compile_preset``
  (Adam with the fused update), the
  policy ``--precision=auto`` resolves to on this machine, ``model.fit``.

``--variants`` adds library variants for attributing the gain, e.g.
``library:float32:unfused`` (precision, then ``fused``/``unfused`` Adam);
``library:mixed_bfloat16:fused:spe4`` adds ``steps_per_execution=4``; ``:noremap``
traces that variant with Grappler's remapper off (what the "remapper failed ...
LeakyReluGrad" log line costs); ``:kerasbn`` trains the BatchNorm layers with Keras'
own ops instead of the fused kernel (``networks.batch_norm``); ``:kerasconv`` runs
every convolution on TensorFlow's own ops (no im2col + matmul weight gradient, no dense
matmul layers, no two-band float32 forward: ``networks.conv``); ``:nodense`` turns only
the dense matmul layers off, ``:nobands`` only the two-band forward, ``:noinputconv``
only the forward-convolution input gradient (also the transposed layers' forward: the
same computation), ``:notapgrad`` only the tap-by-tap weight gradient (these three
are chosen by a probe), ``:nomatmulgrad`` only the im2col + matmul weight gradient.
``:noupdate`` is a bound, not a training step: both optimizers' per-variable update is
replaced by a read of one value of each gradient (every gradient is still computed; no
weight, slot or cast of the gradient to float32 is touched), so its time is the step
with the whole optimizer update free -- what any faster update could buy at most.

Both are fed one constant in-memory batch (the input pipeline is measured by
``profile_step.py --data`` and ``preprocess_throughput.py``). Warm-up steps
(tracing) are excluded; each round runs ``--steps / --rounds`` steps of each
variant. Set ``ONEDNN_MAX_CPU_ISA=AVX512_CORE`` to stand in for a CPU without AMX
and AVX512-BF16 (oneDNN then uses neither, and ``auto`` says float32).

  .venv/bin/python benchmarks/pix2pix_step.py [--image_size 256] [--batch_size 1]
      [--steps 24] [--rounds 4] [--warmup 2] [--variants tutorial library ...]
      [--intra_op_threads N --inter_op_threads M]

``--intra_op_threads`` / ``--inter_op_threads`` set TensorFlow's thread pools for the
whole process (every variant, the tutorial included; the jobs' flags of the same
names): compare two settings as two runs.

Paper: Isola et al., "Image-to-Image Translation with Conditional Adversarial
Networks", CVPR 2017 (batch size 1 for most of its experiments).
"""

import argparse
import os
import resource
import statistics
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_pipeline import distribute, models, networks, precision  # noqa: E402
from tfgan_pipeline.networks.batch_norm import FusedBatchNormalization  # noqa: E402
from tfgan_pipeline.networks.conv import (MatmulGradConv2D,  # noqa: E402
                                          MatmulGradConv2DTranspose)


# ------------------------------------------------ the tutorial, typed out again
def downsample(filters, size, apply_batchnorm=True):
    initializer = tf.random_normal_initializer(0., 0.02)
    result = keras.Sequential()
    result.add(keras.layers.Conv2D(filters, size, strides=2, padding="same",
                                   kernel_initializer=initializer, use_bias=False))
    if apply_batchnorm:
        result.add(keras.layers.BatchNormalization())
    result.add(keras.layers.LeakyReLU())
    return result


def upsample(filters, size, apply_dropout=False):
    initializer = tf.random_normal_initializer(0., 0.02)
    result = keras.Sequential()
    result.add(keras.layers.Conv2DTranspose(filters, size, strides=2, padding="same",
                                            kernel_initializer=initializer, use_bias=False))
    result.add(keras.layers.BatchNormalization())
    if apply_dropout:
        result.add(keras.layers.Dropout(0.5))
    result.add(keras.layers.ReLU())
    return result


def tutorial_generator(size=256):
    inputs = keras.layers.Input(shape=[size, size, 3])
    depth = int(np.log2(size))
    down_stack = [downsample(64, 4, apply_batchnorm=False)] + [
        downsample(min(64 * 2 ** i, 512), 4) for i in range(1, depth)]
    up_stack = [upsample(min(64 * 2 ** i, 512), 4, apply_dropout=(depth - 2 - i) < 3)
                for i in range(depth - 2, -1, -1)]
    last = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same",
                                        kernel_initializer=tf.random_normal_initializer(0., 0.02),
                                        activation="tanh")
    x = inputs
    skips = []
    for down in down_stack:
        x = down(x)
        skips.append(x)
    skips = reversed(skips[:-1])
    for up, skip in zip(up_stack, skips):
        x = up(x)
        x = keras.layers.Concatenate()([x, skip])
    x = last(x)
    return keras.Model(inputs=inputs, outputs=x)


def tutorial_discriminator(size=256):
    initializer = tf.random_normal_initializer(0., 0.02)
    inp = keras.layers.Input(shape=[size, size, 3], name="input_image")
    tar = keras.layers.Input(shape=[size, size, 3], name="target_image")
    x = keras.layers.concatenate([inp, tar])
    down1 = downsample(64, 4, False)(x)
    down2 = downsample(128, 4)(down1)
    down3 = downsample(256, 4)(down2)
    zero_pad1 = keras.layers.ZeroPadding2D()(down3)
    conv = keras.layers.Conv2D(512, 4, strides=1, kernel_initializer=initializer,
                               use_bias=False)(zero_pad1)
    batchnorm1 = keras.layers.BatchNormalization()(conv)
    leaky_relu = keras.layers.LeakyReLU()(batchnorm1)
    zero_pad2 = keras.layers.ZeroPadding2D()(leaky_relu)
    last = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=initializer)(zero_pad2)
    return keras.Model(inputs=[inp, tar], outputs=last)


def tutorial_step_fn(size):
    generator, discriminator = tutorial_generator(size), tutorial_discriminator(size)
    loss_object = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    discriminator_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    lam = 100

    def generator_loss(disc_generated_output, gen_output, target):
        gan_loss = loss_object(tf.ones_like(disc_generated_output), disc_generated_output)
        l1_loss = tf.reduce_mean(tf.abs(target - gen_output))
        return gan_loss + (lam * l1_loss), gan_loss, l1_loss

    def discriminator_loss(disc_real_output, disc_generated_output):
        real_loss = loss_object(tf.ones_like(disc_real_output), disc_real_output)
        generated_loss = loss_object(tf.zeros_like(disc_generated_output), disc_generated_output)
        return real_loss + generated_loss

    @tf.function
    def train_step(input_image, target):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = generator(input_image, training=True)
            disc_real_output = discriminator([input_image, target], training=True)
            disc_generated_output = discriminator([input_image, gen_output], training=True)
            gen_total_loss, _, _ = generator_loss(disc_generated_output, gen_output, target)
            disc_loss = discriminator_loss(disc_real_output, disc_generated_output)
        generator_gradients = gen_tape.gradient(gen_total_loss, generator.trainable_variables)
        discriminator_gradients = disc_tape.gradient(disc_loss,
                                                     discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients,
                                                generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(discriminator_gradients,
                                                    discriminator.trainable_variables))
        return disc_loss

    params = generator.count_params() + discriminator.count_params()
    return train_step, params


# ---------------------------------------------------------------- the library
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


def parse_variant(text):
    """``library[:precision][:fused|unfused][:speK][:noremap][:kerasbn][:kerasconv][:nodense]
    [:nobands][:noinputconv][:nomatmulgrad][:notapgrad][:noupdate]`` or ``tutorial``."""
    parts = text.split(":")
    if parts[0] == "tutorial":
        return {"kind": "tutorial", "label": "tutorial loop (fp32)"}
    if parts[0] != "library":
        raise ValueError(f"unknown variant {text!r}")
    spec = {"kind": "library", "precision": "auto", "fused": True, "spe": 1, "remap": True,
            "fused_bn": True, "matmul_grad": True, "dense": True, "bands": True,
            "input_conv": True, "weight_grad_matmul": True, "tap_grad": True,
            "update": True}
    for part in parts[1:]:
        if part == "noremap":
            spec["remap"] = False
        elif part == "kerasbn":
            spec["fused_bn"] = False
        elif part == "kerasconv":
            spec["matmul_grad"] = spec["dense"] = spec["bands"] = spec["input_conv"] = False
            spec["tap_grad"] = False
        elif part == "nodense":
            spec["dense"] = False
        elif part == "nobands":
            spec["bands"] = False
        elif part == "noinputconv":
            spec["input_conv"] = False
        elif part == "nomatmulgrad":
            spec["weight_grad_matmul"] = False
        elif part == "notapgrad":
            spec["tap_grad"] = False
        elif part == "noupdate":
            spec["update"] = False
        elif part in precision.PRECISIONS:
            spec["precision"] = part
        elif part in ("fused", "unfused"):
            spec["fused"] = part == "fused"
        elif part.startswith("spe"):
            spec["spe"] = int(part[3:])
        else:
            raise ValueError(f"unknown variant part {part!r} in {text!r}")
    choice = precision.resolve_precision(spec["precision"])
    spec["policy"] = choice.policy
    spec["choice"] = choice
    auto = " (auto)" if spec["precision"] == "auto" else ""
    spe = f", steps_per_execution {spec['spe']}" if spec["spe"] > 1 else ""
    remap = "" if spec["remap"] else ", remapper off"
    bn = "" if spec["fused_bn"] else ", Keras BN"
    conv = ", TF conv ops" if not spec["matmul_grad"] else (
        ("" if spec["dense"] else ", no dense layers")
        + ("" if spec["bands"] else ", no band forward")
        + ("" if spec["input_conv"] else ", no conv input gradient")
        + ("" if spec["weight_grad_matmul"] else ", no im2col weight gradient")
        + ("" if spec["tap_grad"] else ", no tap weight gradient"))
    update = "" if spec["update"] else ", NO optimizer update (a bound)"
    spec["label"] = (f"library {choice.policy}{auto}, "
                     f"{'fused' if spec['fused'] else 'unfused'} Adam{spe}{remap}{bn}{conv}"
                     f"{update}")
    return spec


def layers_of(layer_type, *nets):
    """The networks' layers that are ``layer_type`` instances."""
    return [layer for net in nets for layer in net.layers if isinstance(layer, layer_type)]


def keras_ops(layer_type, *nets):
    """Makes the networks' ``layer_type`` layers (a fused-kernel layer with a
    ``_fusable`` test) take their Keras base class's own ops."""
    for layer in layers_of(layer_type, *nets):
        layer._fusable = lambda *args, **kwargs: False


def keras_batch_norm(*nets):
    """Makes the networks' FusedBatchNormalization layers take Keras' own BatchNorm path
    (the ``:kerasbn`` variant: what the fused kernel bought)."""
    keras_ops(FusedBatchNormalization, *nets)


def no_dense_layers(*nets):
    """Makes the networks' MatmulGradConv2D(Transpose) layers run TensorFlow's convolution
    ops at every size (the ``:nodense`` variant: what the dense matmul layers bought)."""
    for layer in layers_of((MatmulGradConv2D, MatmulGradConv2DTranspose), *nets):
        layer.dense_max_positions = 0


def set_probe_paths(*nets, **switches):
    """Sets the networks' MatmulGradConv2D(Transpose) probe-chosen switches
    (``band_forward``, ``conv_input_grad``, ``tap_weight_grad``; each on the layers that
    have it) to ``True`` (forced on where the shape guards allow, whatever this CPU's
    probe says: the quality check's ``bands`` / ``inputconv`` / ``tapgrad``), ``False``
    or ``"auto"``."""
    for layer in layers_of((MatmulGradConv2D, MatmulGradConv2DTranspose), *nets):
        for name, value in switches.items():
            if hasattr(layer, name):
                setattr(layer, name, value)


def no_band_forward(*nets):
    """Makes the networks' MatmulGradConv2D layers run their float32 forward as one call
    (the ``:nobands`` variant: what the two-band forward bought)."""
    set_probe_paths(*nets, band_forward=False)


def no_conv_input_grad(*nets):
    """Makes the networks' MatmulGradConv2D layers take TensorFlow's input-gradient op and
    the MatmulGradConv2DTranspose layers TensorFlow's forward op (the ``:noinputconv``
    variant: what the forward-convolution input gradient bought)."""
    set_probe_paths(*nets, conv_input_grad=False)


def no_tap_weight_grad(*nets):
    """Makes the networks' MatmulGradConv2D(Transpose) layers take TensorFlow's weight
    gradient where the probe would choose the tap form (the ``:notapgrad`` variant: what
    ``filter_grad_by_taps`` bought)."""
    set_probe_paths(*nets, tap_weight_grad=False)


def no_matmul_weight_grad(*nets):
    """Makes the networks' MatmulGradConv2D(Transpose) layers that are not dense take
    TensorFlow's weight-gradient op (the ``:nomatmulgrad`` variant: what the im2col +
    matmul weight gradient of the 64 < P <= 256 layers bought)."""
    for layer in layers_of((MatmulGradConv2D, MatmulGradConv2DTranspose), *nets):
        layer.matmul_grad_max_positions = 0


def keras_conv_grads(*nets):
    """Makes the networks' MatmulGradConv2D(Transpose) layers run TensorFlow's own ops,
    weight gradient included (the ``:kerasconv`` variant: what ``networks.conv`` bought)."""
    no_dense_layers(*nets)
    no_band_forward(*nets)
    no_conv_input_grad(*nets)
    no_tap_weight_grad(*nets)
    no_matmul_weight_grad(*nets)


def no_optimizer_update(*optimizers):
    """Makes each optimizer's per-variable update read one value of the gradient into a
    scalar sink variable instead of updating anything (the ``:noupdate`` bound). The
    read keeps every gradient computed (an unused one would be pruned from the graph);
    weights, slots and the float32 cast of the gradient are left out."""
    for opt in optimizers:
        sink = tf.Variable(0.0, trainable=False, name="noupdate_sink")

        def update_step(self, gradient, variable, learning_rate, sink=sink):
            del self, variable, learning_rate
            return sink.assign_add(tf.cast(tf.reshape(gradient, [-1])[0], tf.float32))

        opt.update_step = types.MethodType(update_step, opt)


def cpu_seconds():
    """User + system CPU seconds of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_calls(fn, n):
    """Wall-clock seconds of each of ``n`` calls of ``fn()``."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def fit_times(model, dataset, timer, n):
    """Seconds per step of ``n`` steps of ``model.fit`` (``timer``: a :class:`_StepTimer`)."""
    timer.times = []
    model.fit(dataset, epochs=1, steps_per_epoch=n, verbose=0, callbacks=[timer])
    return timer.times


class TimedRunner:
    """One benchmarked variant; subclasses set ``params`` and implement ``steps(n)``.

    ``run(n)`` times ``n`` steps and keeps their wall seconds (``times``) and the CPU
    seconds per step of the block (``cpu``); ``record=False`` runs untimed steps (the
    warm-up that traces the step).
    """

    def __init__(self, spec):
        self.spec, self.times, self.cpu = spec, [], []

    def steps(self, n):
        """Runs ``n`` steps; returns the wall seconds of each."""
        raise NotImplementedError

    def run(self, n, record=True):
        cpu0 = cpu_seconds()
        times = self.steps(n)
        if record:
            self.times += times
            self.cpu.append((cpu_seconds() - cpu0) / n)

    def line(self, width, base=None):
        """The variant's figures; ``base``: the runner the ratio is taken against."""
        med = statistics.median(self.times)
        text = (f"{self.spec['label']:{width}s}: {med:.4f} s/step (median; min "
                f"{min(self.times):.4f}, max {max(self.times):.4f}); "
                f"{statistics.median(self.cpu):.3f} CPU s/step; {self.params:,} params")
        if base is not None:
            cpu = statistics.median(base.cpu) / statistics.median(self.cpu)
            text += (f"; x{statistics.median(base.times) / med:.2f} vs {base.spec['label']} "
                     f"(x{cpu:.2f} in CPU time)")
        return text


def alternate_rounds(runners, steps, rounds, warmup):
    """Warms each runner up, then times ``rounds`` blocks of ``steps // rounds`` steps
    each, reversing the order every other round so load drifts hit every variant.

    Returns the 1-minute load averages: at the start and after each round.
    """
    load = [os.getloadavg()[0]]
    for r in runners:
        r.run(warmup, record=False)
    block = steps // rounds
    for i in range(rounds):
        for r in (runners if i % 2 == 0 else runners[::-1]):
            r.run(block)
        load.append(os.getloadavg()[0])
    return load


class Runner(TimedRunner):
    """One pix2pix variant: the tutorial loop or ``Pix2Pix.fit``."""

    def __init__(self, spec, args, batch):
        super().__init__(spec)
        source, target = batch
        if spec["kind"] == "tutorial":
            keras.mixed_precision.set_global_policy("float32")
            self.step, self.params = tutorial_step_fn(args.image_size)
            self.source, self.target = tf.constant(source), tf.constant(target)
            self.k = 1
        else:
            keras.mixed_precision.set_global_policy(spec["policy"])
            gen = networks.unet_generator(args.image_size)
            disc = networks.patchgan_discriminator(args.image_size)
            self.model = models.compile_preset(models.Pix2Pix(gen, disc),
                                               fused_adam=spec["fused"],
                                               steps_per_execution=spec["spe"])
            if not spec["fused_bn"]:
                keras_batch_norm(gen, disc)
            if not spec["update"]:
                no_optimizer_update(self.model.d_optimizer, self.model.g_optimizer)
            if not spec["matmul_grad"]:
                keras_conv_grads(gen, disc)  # every networks.conv path off
            else:
                if not spec["dense"]:
                    no_dense_layers(gen, disc)
                if not spec["bands"]:
                    no_band_forward(gen, disc)
                if not spec["input_conv"]:
                    no_conv_input_grad(gen, disc)
                if not spec["weight_grad_matmul"]:
                    no_matmul_weight_grad(gen, disc)
                if not spec["tap_grad"]:
                    no_tap_weight_grad(gen, disc)
            self.params = gen.count_params() + disc.count_params()
            self.ds = tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)
            self.k = spec["spe"]
            self.timer = _StepTimer(self.k)
        keras.mixed_precision.set_global_policy("float32")

    def steps(self, n):
        """Trains ``n`` steps under this variant's Grappler options (set around every
        call, so the choice holds whether TF reads them at tracing or at each call)."""
        if self.spec.get("remap", True):
            return self._steps(n)
        tf.config.optimizer.set_experimental_options({"remapping": False})
        try:
            return self._steps(n)
        finally:
            tf.config.optimizer.set_experimental_options({"remapping": True})

    def _steps(self, n):
        if self.spec["kind"] == "tutorial":
            return time_calls(lambda: float(self.step(self.source, self.target)), n)
        return fit_times(self.model, self.ds, self.timer, n)


def cpu_summary():
    flags = precision.read_cpu_flags()
    have = [f for f in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"{model}, {os.cpu_count()} CPUs, flags {' '.join(have) or 'none of avx512f/avx512_bf16/amx'}" + (
        f", ONEDNN_MAX_CPU_ISA={cap}" if cap else "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=1)
    p.add_argument("--steps", type=int, default=24, help="timed steps of each variant")
    p.add_argument("--rounds", type=int, default=4, help="alternating blocks")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps (tracing)")
    p.add_argument("--variants", nargs="+", default=["tutorial", "library"])
    p.add_argument("--intra_op_threads", type=int, default=0,
                   help="TensorFlow's intra-op pool for every variant (0: its default)")
    p.add_argument("--inter_op_threads", type=int, default=0,
                   help="TensorFlow's inter-op pool for every variant (0: its default)")
    args = p.parse_args()
    try:  # before anything runs a TensorFlow op (the precision probe does)
        threads = distribute.configure_threads(args.intra_op_threads, args.inter_op_threads)
    except ValueError as e:
        p.error(str(e))
    specs = [parse_variant(v) for v in args.variants]
    for spec in specs:
        k = spec.get("spe", 1)
        if (args.steps // args.rounds) % k or args.warmup % k:
            p.error(f"--steps/--rounds and --warmup must be multiples of steps_per_execution {k}")
    if args.steps % args.rounds:
        p.error("--steps must be a multiple of --rounds")

    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.image_size, args.image_size, 3)
    batch = tuple(rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))
    keras.utils.set_random_seed(0)
    runners = [Runner(spec, args, batch) for spec in specs]
    load = alternate_rounds(runners, args.steps, args.rounds, args.warmup)

    auto = precision.resolve_precision("auto")
    pools = (f"threads intra-op {threads[0]}, inter-op {threads[1]}" if threads
             else "TensorFlow's default threads")
    print(f"pix2pix {args.image_size}x{args.image_size}, batch {args.batch_size}; {cpu_summary()}; "
          f"TF {tf.__version__}, Keras {keras.__version__}; {pools}; {auto.describe()}")
    print(f"{args.steps} timed steps each in {args.rounds} alternating rounds after "
          f"{args.warmup} warm-up steps; 1-min load average {min(load):.1f}-{max(load):.1f} "
          "during the run")
    for r in runners:
        print(r.line(48, base=runners[0]))


if __name__ == "__main__":
    main()
