"""The Keras dtype policy for this machine: ``--precision=auto`` resolved.

Mixed precision (Micikevicius et al., "Mixed Precision Training", ICLR 2018; the
bfloat16 variant of Kalamkar et al., "A Study of BFLOAT16 for Deep Learning
Training", 2019) keeps float32 weights and runs the layers in a 16-bit type. It
only pays where the hardware multiplies that type natively; elsewhere the 16-bit
kernels are emulated and slower than float32. Measured with
``benchmarks/pix2pix_step.py`` (pix2pix 256x256, batch 1, BUILD.md "Performance"):

* a CPU with AMX (``amx_bf16``): ``mixed_bfloat16`` is the main speed lever (oneDNN
  runs bf16 convolutions on the AMX tiles);
* a CPU with AVX-512 but neither AMX nor AVX512-BF16: ``mixed_bfloat16`` is ~2.8x
  *slower* than float32 (bf16 emulated);
* a CPU with AVX512-BF16 but no AMX (an Intel Xeon under KVM with ``avx512_bf16`` and
  ``avx512_fp16``, AMX not exposed): bf16 kernels are native but narrower, and
  ``mixed_bfloat16`` was *slower* than float32 (0.662 vs 0.438 s/step; bf16 matmul 167
  vs 319 GFLOP/s): the flags alone cannot tell;
* a CPU with AVX512-BF16 and no AMX that runs it at full width (an AMD EPYC, Zen 5,
  under KVM): ``mixed_bfloat16`` 0.195 s/step against float32's 0.30-0.32 (bf16
  matmul 787 vs 405 GFLOP/s, ``benchmarks/flops.py``);
* a GPU: bfloat16 from compute capability 8.0 (Ampere), float16 with loss scaling on
  7.x (Volta/Turing tensor cores), float32 before.

So :func:`resolve_precision` decides per machine. First from facts it can read without
running anything: the CPU flags (``/proc/cpuinfo``), a cap on oneDNN's instruction set
(``ONEDNN_MAX_CPU_ISA`` / ``DNNL_MAX_CPU_ISA``, which also lets a benchmark stand in for
a CPU without AMX), whether oneDNN is switched off (``TF_ENABLE_ONEDNN_OPTS=0``:
TensorFlow's own bf16 kernels are emulated) and the visible GPUs. Where the flags say
bf16 is native, a short measured probe (:func:`measure_bf16_speed`: one pix2pix-sized
convolution's forward and both gradients in each dtype, timed in alternating rounds,
about 0.2-0.4 s once per process) decides, and bf16 is chosen only at <=
``probe.MARGIN`` of float32's time. Explicit policies are returned unchanged. The
choice and its reason (with the probe's timings) come back together
(:class:`PrecisionChoice`) so callers log both.
"""

import dataclasses
import functools
import os

from tfgan_pipeline import probe

#: What ``--precision`` accepts: ``auto`` and the Keras dtype policies.
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
#: The explicit Keras dtype policies.
POLICIES = PRECISIONS[1:]
#: CPU flags (``/proc/cpuinfo``) meaning the CPU multiplies bfloat16 natively.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")

# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA values, lower case) under which no native bf16
# kernel may run. AVX512_CORE_BF16 and AVX512_CORE_AMX (and ALL/DEFAULT) allow them.
_ISA_WITHOUT_BF16 = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core",
                     "avx512_core_vnni")
_ISA_WITHOUT_AMX = _ISA_WITHOUT_BF16 + ("avx512_core_bf16",)


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """A resolved policy: ``policy`` (a Keras dtype policy name) and ``reason``."""

    policy: str
    reason: str
    requested: str = "auto"

    def describe(self):
        """One log line: ``precision auto -> float32 (reason)``."""
        return f"precision {self.requested} -> {self.policy} ({self.reason})"


def read_cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags of the first processor in ``path`` (empty if unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def onednn_enabled(environ=None):
    """Whether TensorFlow's oneDNN CPU kernels are on (``TF_ENABLE_ONEDNN_OPTS``, default on)."""
    env = os.environ if environ is None else environ
    value = env.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def onednn_isa_cap(environ=None):
    """oneDNN's instruction-set cap from ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_...``), lower case."""
    env = os.environ if environ is None else environ
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        if env.get(name):
            return name, env[name].strip().lower()
    return None, None


def cpu_bf16_support(flags, environ=None):
    """``(native, why)``: does this CPU, as TensorFlow will use it, run bf16 natively?"""
    flags = frozenset(flags)
    native = [f for f in NATIVE_BF16_FLAGS if f in flags]
    if not native:
        return False, ("CPU has neither AMX nor AVX512-BF16 (flags amx_bf16/avx512_bf16 "
                       "absent): bf16 would be emulated")
    if not onednn_enabled(environ):
        return False, (f"CPU has {'/'.join(native)} but TF_ENABLE_ONEDNN_OPTS=0 switches "
                       "oneDNN off: TensorFlow's own bf16 kernels are emulated")
    var, cap = onednn_isa_cap(environ)
    if cap in _ISA_WITHOUT_BF16:
        return False, f"{var}={cap.upper()} caps oneDNN below its bf16 kernels"
    if "amx_bf16" in native and cap in _ISA_WITHOUT_AMX:
        native.remove("amx_bf16")
        if not native:
            return False, f"{var}={cap.upper()} caps oneDNN below AMX and the CPU lacks avx512_bf16"
    return True, f"CPU runs bf16 natively ({'/'.join(native)})"


def gpu_policy(compute_capability):
    """``(policy, why)`` for a GPU of ``(major, minor)`` compute capability."""
    major, minor = (tuple(compute_capability) + (0,))[:2] if compute_capability else (0, 0)
    cc = f"{major}.{minor}"
    if major >= 8:
        return "mixed_bfloat16", f"GPU compute capability {cc} >= 8.0 has bf16 tensor cores"
    if major >= 7:
        return "mixed_float16", f"GPU compute capability {cc} has fp16 tensor cores, no bf16"
    return "float32", f"GPU compute capability {cc} < 7.0 has no tensor cores"


#: The probe's layer: a 4x4 stride-2 ``SAME`` convolution, 128x128x64 -> 64x64x128 at
#: batch 1 (pix2pix's ``enc_conv_1`` at 256 px; 1.07 GFLOP per pass).
PROBE_INPUT = (1, 128, 128, 64)
PROBE_KERNEL = (4, 4, 64, 128)
PROBE_OUTPUT = (1, 64, 64, 128)


@functools.lru_cache(maxsize=None)
def measure_bf16_speed():
    """``(bfloat16 seconds, float32 seconds)`` for one convolution's training work.

    Times, eagerly and once per process, the forward pass, the input gradient and the
    filter gradient of the :data:`PROBE_INPUT` / :data:`PROBE_KERNEL` convolution in
    each dtype (``probe.best_times``: 1 warm-up each, then the best of
    ``probe.REPEATS`` runs timed in alternating rounds).
    """
    import tensorflow as tf  # noqa: PLC0415 (only when the flags leave it open)

    strides = [1, 2, 2, 1]

    def layer_work(x, k, dy):
        tf.nn.conv2d(x, k, strides, "SAME")
        tf.raw_ops.Conv2DBackpropInput(input_sizes=PROBE_INPUT, filter=k, out_backprop=dy,
                                       strides=strides, padding="SAME")
        return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=PROBE_KERNEL,
                                               out_backprop=dy, strides=strides,
                                               padding="SAME")

    with tf.init_scope():
        calls = [(layer_work, [tf.cast(tf.random.normal(shape), dtype)
                               for shape in (PROBE_INPUT, PROBE_KERNEL, PROBE_OUTPUT)])
                 for dtype in (tf.bfloat16, tf.float32)]
        return probe.best_times(calls)


def _visible_gpus():
    """Compute capabilities of the GPUs TensorFlow sees (``[]`` on CPU-only machines)."""
    import tensorflow as tf  # noqa: PLC0415 (only when asked: keeps the module light)

    out = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu) or {}
        out.append(tuple(details.get("compute_capability") or (0, 0)))
    return out


def resolve_precision(precision="auto", *, cpu_flags=None, gpus=None, environ=None,
                      bf16_probe=None):
    """Resolves ``precision`` to a Keras dtype policy for this machine.

    Args:
      precision: ``"auto"`` or one of :data:`POLICIES` (returned unchanged).
      cpu_flags: CPU feature flags (default: :func:`read_cpu_flags`); tests pass fakes.
      gpus: compute capabilities ``[(major, minor), ...]`` of the visible GPUs
        (default: asked from TensorFlow); ``[]`` for none.
      environ: environment mapping (default ``os.environ``).
      bf16_probe: callable returning ``(bf16 seconds, float32 seconds)``, asked only
        where the flags say bf16 is native (default :func:`measure_bf16_speed`).

    Returns:
      A :class:`PrecisionChoice`.

    Raises:
      ValueError: for a value not in :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision != "auto":
        return PrecisionChoice(precision, "asked for explicitly", precision)
    gpus = _visible_gpus() if gpus is None else list(gpus)
    if gpus:
        # Every replica runs the same policy: the weakest GPU decides.
        policy, why = gpu_policy(min(gpus))
        return PrecisionChoice(policy, why)
    flags = read_cpu_flags() if cpu_flags is None else cpu_flags
    native, why = cpu_bf16_support(flags, environ)
    if not native:
        return PrecisionChoice("float32", why)
    bf16_s, f32_s = (measure_bf16_speed if bf16_probe is None else bf16_probe)()
    measured = (f"measured bf16 {1e3 * bf16_s:.1f} ms vs float32 {1e3 * f32_s:.1f} ms "
                "for a conv layer's forward + gradients")
    if probe.beats(bf16_s, f32_s):
        return PrecisionChoice("mixed_bfloat16", f"{why}; {measured}")
    return PrecisionChoice("float32", f"{why}, but bf16 is not faster here: {measured} "
                           f"(bf16 must take <= {probe.MARGIN:g}x)")
