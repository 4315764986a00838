"""Convolutions whose weight gradient is one matmul when few positions are summed over.

The weight gradient of a 2-D convolution sums, for every kernel tap, the product of an
input patch and the output gradient over all output positions of the batch:
``dW[kh, kw, c_in, c_out] = sum_p patch_p[kh, kw, c_in] * dy_p[c_out]`` (the transposed
convolution is the same with input and output gradient swapped). As a matrix product
that is ``patches^T @ dy`` with ``patches`` of shape ``[P, kh*kw*c_in]`` and ``P`` the
number of positions (batch x output height x width). This is the classic
im2col + GEMM lowering of convolution (Chellapilla et al., "High Performance
Convolutional Neural Networks for Document Processing", IWFHR 2006, Sec. 3: the
unfolded input matrix times the kernel matrix; its backward pass is the transposed
product).

In pix2pix's U-Net (Isola et al. 2017, Sec. 3.2.1 and Appendix 6.1.1) at batch 1 the
inner layers have tiny spatial extent (16x16 down to 1x1) and 512-1024 channels: ``P``
is at most 256 while the weight tensors hold up to 8.4M values. oneDNN's
backward-weights kernel (``Conv2DBackpropFilter``) is slow there: measured on a 2-core
Xeon (``benchmarks/profile_step.py --top_ops``, BUILD.md "Performance"), the decoder's
8x8 -> 16x16 transposed convolution's weight gradient (1.07 GFLOP) took 59 ms of the
bfloat16 step, 18 GFLOP/s (52 GFLOP/s alone), on a CPU whose bfloat16 matmul peak is
1,316 GFLOP/s. ``tf.image.extract_patches``
(the im2col) plus one ``tf.matmul`` computed the same gradient 1.1-7.5x faster at every
shape measured with ``P <= 256``, in float32 and bfloat16, and was slower at larger
``P`` (``P = 961``: x0.5), so the matmul is taken only when ``P <=
matmul_grad_max_positions`` (default 256) and the batch size is static; otherwise
Keras' own op and TensorFlow's registered gradient run unchanged.

:class:`MatmulGradConv2D` and :class:`MatmulGradConv2DTranspose` are the Keras layers
(same arguments, variables, checkpoint layout and ``isinstance``) with that backward
pass. The forward op and the input gradient are the ones TensorFlow would use
(``Conv2D`` / ``Conv2DBackpropInput``), so only the weight gradient changes, and only in
rounding: ``tests/networks/test_conv.py`` checks both paths against Keras' layers,
including second-order gradients (a gradient penalty differentiates through the
backward pass, which is made of differentiable TensorFlow ops).
The matmul path covers ``groups=1``, ``dilation_rate=1``, channels-last and (for the
transposed layer) ``output_padding=None``; every other configuration uses Keras' op.

The innermost layers, where the low-resolution side of the layer (the output of a
convolution, the input of a transposed one) has at most ``dense_max_positions``
positions (batch x height x width, default 64: the U-Net's 8x8 and smaller layers
at batch 1), skip the convolution kernels altogether: there the layer is a *dense*
linear map, computed as two matmuls whose gradients TensorFlow derives itself
(:func:`dense_conv2d`, :func:`dense_conv2d_transpose`). One matmul moves the pixels:
a constant 0/1 matrix (:func:`tap_matrix`, built from the static shapes) gathers
every kernel tap's input position (im2col), or, for the transposed layer, its
transpose adds each tap's contribution into its output position (col2im); the other
multiplies by the kernel over the channels. oneDNN's kernels spend most of their time
there on setting up and reordering 4-8M-value weight tensors for a few hundred
multiply-adds per weight: measured on the AMX Xeon in isolation, forward + both
gradients of the U-Net's layers with a 1x1 to 8x8 low side were x1.17-3.27 faster this
way in float32 (oneDNN capped at AVX512_CORE: the decoder's 2x2 -> 4x4 layer 17.2 ->
5.3 ms) and x1.39-1.93 in bfloat16, and not faster from a 16x16 low side on (x0.68-1.07),
hence the threshold (BUILD.md "Performance", fourth pass). In float32 the gather is exact (one
1 per row) and the scatter sums at most ``kh*kw`` terms per output value, so the
results differ from TensorFlow's only in summation order.

One float32-only case goes the other way, towards a bigger call: a batch-1, stride-1
``VALID`` convolution with at least 16 output rows and 64 output channels (the
PatchGAN's 31x31x512 layer) runs its forward as one call on two overlapping row bands
stacked as a batch of 2 (:func:`band_conv2d`), where oneDNN's float32 AVX-512 kernel
was x1.56 faster for the same output (and its AVX2 kernel on an AMD EPYC x0.76 slower);
its gradients stay TensorFlow's ops on the whole image. Layers can also take their
input gradient as a forward convolution (:func:`input_grad_by_conv` for stride 1: x1.48
for that layer and x13.6 for the 1-channel logits on the EPYC;
:func:`strided_input_grad_by_conv` for a kernel that is a multiple of the stride, via
the space-to-depth rewrite below: x1.4 for the U-Net's 16x16 -> 32x32 transposed
layer, whose *forward* is that computation, so the transposed layer runs it there).

Past ``matmul_grad_max_positions`` the weight gradient of a layer whose kernel is a
multiple of its stride can be taken tap by tap instead (:func:`filter_grad_by_taps`:
``space_to_depth`` turns the strided convolution into a stride-1 one, and each tap of
its kernel is one matmul of a contiguous window with the output gradient; no patch
matrix is built). On the EPYC that was x11.7 for the PatchGAN's 1-channel logits (32.1
-> 2.7 ms) and x1.1-1.3 for its other layers and the U-Net's 128x128 layer, and even
or slower at the rest; the im2col form had lost at every PatchGAN layer on an
AVX512-BF16 Xeon.

Because the winner depends on the CPU, all three are chosen per layer shape by a short
measured probe (:func:`measured_faster`; ``band_forward``, ``conv_input_grad`` and
``tap_weight_grad`` are ``"auto"`` by default, ``True`` / ``False`` force a path). The
gradients' choices are made when the gradient is first traced, so a convolution that is
only run forward (inference, export) never pays for a probe.
"""

import functools
import logging

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline import probe

DEFAULT_MAX_POSITIONS = 256
DEFAULT_DENSE_MAX_POSITIONS = 64
#: Largest tap matrix (entries) the dense path builds; past it TensorFlow's ops run (a
#: raised ``dense_max_positions`` must not turn a large layer into a huge constant).
MAX_TAP_ENTRIES = 1 << 24

logger = logging.getLogger("tfgan_pipeline")


def filter_grad(inputs, grad, kernel_shape, strides, padding):
    """``dW`` of ``y = conv2d(inputs, W)`` given ``dy = grad``, as im2col + one matmul.

    ``kernel_shape`` is ``[kh, kw, c_in, c_out]`` (TensorFlow's filter layout);
    ``padding`` is ``"SAME"`` or ``"VALID"`` as for ``tf.nn.conv2d`` (``extract_patches``
    pads exactly as the convolution does).
    """
    kh, kw, c_in, c_out = kernel_shape
    patches = tf.image.extract_patches(inputs, [1, kh, kw, 1], [1, *strides, 1], [1, 1, 1, 1],
                                       padding)
    patches = tf.reshape(patches, [-1, kh * kw * c_in])
    return tf.reshape(tf.matmul(patches, tf.reshape(grad, [-1, c_out]), transpose_a=True),
                      kernel_shape)


def _same_padding(need_hw, in_hw):
    """TensorFlow's ``SAME`` padding ``((top, bottom), (left, right))`` of an input of
    ``in_hw`` whose windows span ``need_hw`` rows and columns (the odd pixel at the end)."""
    pads = [max(need - size, 0) for need, size in zip(need_hw, in_hw)]
    return tuple((pad // 2, pad - pad // 2) for pad in pads)


def _fits_space_to_depth(kernel_hw, strides):
    """Whether the space-to-depth rewrite applies: equal strides that divide the kernel."""
    (kh, kw), (sh, sw) = kernel_hw, strides
    return sh == sw and kh % sh == 0 and kw % sw == 0


def _check_space_to_depth(kernel_hw, strides):
    """The stride of the space-to-depth rewrite, or a ValueError naming kernel and
    strides where :func:`_fits_space_to_depth` says it does not apply."""
    (kh, kw), (sh, sw) = kernel_hw, strides
    if not _fits_space_to_depth(kernel_hw, strides):
        raise ValueError(f"the space-to-depth rewrite needs equal strides that divide the "
                         f"kernel; got kernel {kh}x{kw}, strides {sh}x{sw}")
    return sh


def filter_grad_by_taps(inputs, grad, kernel_shape, strides, padding):
    """``dW`` of ``y = conv2d(inputs, W)`` given ``dy = grad``, tap by tap, without a patch
    matrix.

    A stride-``s`` convolution whose kernel is a multiple of ``s`` is a stride-1
    convolution with a ``k/s x k/s`` kernel on ``z = space_to_depth(inputs, s)`` (the
    space-to-depth rewrite of a strided convolution; with ``s = 1``, ``z`` is the input
    itself). The weight gradient of that kernel's tap ``(u, v)`` is
    ``sum_p z[p + (u, v)]^T dy[p]``: a matmul of ``z`` shifted by the tap with ``dy``.
    Whichever side is smaller is the one copied per tap: either a window of ``z`` per tap
    (one matmul each, ``(k/s)^2`` matmuls) or, where ``dy`` has no more channels than
    ``z``, ``dy`` zero-padded to ``z``'s size at each tap's offset, all taps side by side
    for one matmul with the whole of ``z``. The results are the kernel's rows in phase
    order. ``Conv2DBackpropFilter`` computes the same sums; on a 2-core AMD EPYC (AVX2)
    this was x11.7 faster for the PatchGAN's 1-channel logits layer (32.1 -> 2.7 ms) and
    x1.1-1.3 for its other layers (BUILD.md "Performance", seventh pass), and even or
    slower elsewhere, so it is chosen per layer by the measured probe.

    ``kernel_shape`` is ``[kh, kw, c_in, c_out]`` with ``kh``, ``kw`` multiples of the
    (equal) strides; ``padding`` ``"SAME"`` or ``"VALID"`` as for ``tf.nn.conv2d``; static
    shapes. Differentiable (slices, pads, matmuls), so a gradient penalty can
    differentiate through it.
    """
    kh, kw, c_in, c_out = kernel_shape
    s = _check_space_to_depth((kh, kw), strides)
    out_h, out_w = grad.shape[1], grad.shape[2]
    need_h, need_w = (out_h - 1) * s + kh, (out_w - 1) * s + kw
    if padding == "SAME":
        rows, cols = _same_padding((need_h, need_w), inputs.shape[1:3])
        inputs = tf.pad(inputs, [[0, 0], rows, cols, [0, 0]])
    z = inputs[:, :need_h, :need_w]
    if s > 1:
        z = tf.nn.space_to_depth(z, s)
    th, tw, c_z = kh // s, kw // s, s * s * c_in
    taps = [(u, v) for u in range(th) for v in range(tw)]
    if c_out <= c_z:  # copy dy: pad it to z's size at every tap's offset, one matmul
        shifted = tf.concat([tf.pad(grad, [[0, 0], [u, th - 1 - u], [v, tw - 1 - v], [0, 0]])
                             for u, v in taps], axis=-1)
        dw = tf.matmul(tf.reshape(z, [-1, c_z]), tf.reshape(shifted, [-1, th * tw * c_out]),
                       transpose_a=True)
        dw = tf.transpose(tf.reshape(dw, [s, s, c_in, th, tw, c_out]), [3, 0, 4, 1, 2, 5])
    else:  # copy z: one window per tap, one matmul each
        dy = tf.reshape(grad, [-1, c_out])
        dw = tf.stack([tf.matmul(tf.reshape(z[:, u:u + out_h, v:v + out_w], [-1, c_z]), dy,
                                 transpose_a=True) for u, v in taps])
        dw = tf.transpose(tf.reshape(dw, [th, tw, s, s, c_in, c_out]), [0, 2, 1, 3, 4, 5])
    return tf.reshape(dw, kernel_shape)


@functools.lru_cache(maxsize=64)
def tap_matrix(in_hw, kernel_hw, strides, padding):
    """The 0/1 im2col matrix of a 2-D convolution, from static sizes.

    Returns:
      ``(matrix, out_hw)``: ``matrix`` (float32 numpy, ``[out_h*out_w*kh*kw, in_h*in_w]``)
      has a 1 in row ``((oy*out_w + ox)*kh + i)*kw + j`` at the input position that kernel
      tap ``(i, j)`` of output position ``(oy, ox)`` reads, and an all-zero row where the
      tap falls into the padding; TensorFlow's ``SAME`` padding puts the odd pixel at the
      end (``pad_before = total // 2``). ``out_hw`` is the convolution's output size.
    """
    (in_h, in_w), (kh, kw), (sh, sw) = in_hw, kernel_hw, strides
    out_hw = conv_output_hw(in_hw, kernel_hw, strides, padding)
    out_h, out_w = out_hw
    top, left = 0, 0
    if padding == "SAME":
        need_hw = ((out_h - 1) * sh + kh, (out_w - 1) * sw + kw)
        (top, _), (left, _) = _same_padding(need_hw, in_hw)
    oy, ox, i, j = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(kh), np.arange(kw),
                               indexing="ij")
    iy, ix = (oy * sh + i - top).ravel(), (ox * sw + j - left).ravel()
    inside = (iy >= 0) & (iy < in_h) & (ix >= 0) & (ix < in_w)
    matrix = np.zeros((iy.size, in_h * in_w), np.float32)
    matrix[np.flatnonzero(inside), (iy * in_w + ix)[inside]] = 1.0
    return matrix, out_hw


def conv_output_hw(in_hw, kernel_hw, strides, padding):
    """Output height and width of a 2-D convolution (``"SAME"`` or ``"VALID"``)."""
    (in_h, in_w), (kh, kw), (sh, sw) = in_hw, kernel_hw, strides
    if padding == "SAME":
        return -(-in_h // sh), -(-in_w // sw)
    if padding == "VALID":
        return (in_h - kh) // sh + 1, (in_w - kw) // sw + 1
    raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}.")


def _taps_fit(in_hw, out_hw, kernel_hw):
    """Whether the tap matrix of these sizes stays within :data:`MAX_TAP_ENTRIES`."""
    rows = out_hw[0] * out_hw[1] * kernel_hw[0] * kernel_hw[1]
    return rows * in_hw[0] * in_hw[1] <= MAX_TAP_ENTRIES


def dense_conv2d(inputs, kernel, strides, padding):
    """``tf.nn.conv2d(inputs, kernel, strides, padding)`` as im2col matmul + channel matmul.

    ``inputs`` needs a static shape ``[batch, h, w, c_in]``; ``kernel`` is ``[kh, kw, c_in,
    c_out]``; ``padding`` ``"SAME"`` or ``"VALID"``. Differentiable (to any order) by
    TensorFlow's matmul gradients. Returns ``None`` when the tap matrix would exceed
    :data:`MAX_TAP_ENTRIES` (the caller then uses TensorFlow's op).
    """
    batch, in_h, in_w, c_in = inputs.shape
    kh, kw, _, c_out = kernel.shape
    out_hw = conv_output_hw((in_h, in_w), (kh, kw), tuple(strides), padding)
    if not _taps_fit((in_h, in_w), out_hw, (kh, kw)):
        return None
    taps, (out_h, out_w) = tap_matrix((in_h, in_w), (kh, kw), tuple(strides), padding)
    taps = tf.constant(taps[None], inputs.dtype)
    patches = tf.matmul(taps, tf.reshape(inputs, [batch, in_h * in_w, c_in]))
    outputs = tf.matmul(tf.reshape(patches, [batch * out_h * out_w, kh * kw * c_in]),
                        tf.reshape(kernel, [kh * kw * c_in, c_out]))
    return tf.reshape(outputs, [batch, out_h, out_w, c_out])


def dense_conv2d_transpose(inputs, kernel, output_hw, strides, padding):
    """``tf.nn.conv2d_transpose`` (the input gradient of a convolution from ``output_hw`` to
    the input's size) as channel matmul + col2im matmul.

    ``kernel`` is ``[kh, kw, c_out, c_in]`` (TensorFlow's and Keras' transposed-conv
    layout). Returns ``None`` when the convolution from ``output_hw`` with these
    strides and padding does not map back to the input's size, or the tap matrix would
    exceed :data:`MAX_TAP_ENTRIES` (the caller then uses TensorFlow's op).
    """
    batch, in_h, in_w, c_in = inputs.shape
    kh, kw, c_out, _ = kernel.shape
    output_hw = tuple(output_hw)
    conv_out = conv_output_hw(output_hw, (kh, kw), tuple(strides), padding)
    if tuple(conv_out) != (in_h, in_w) or not _taps_fit(output_hw, conv_out, (kh, kw)):
        return None
    taps, _ = tap_matrix(output_hw, (kh, kw), tuple(strides), padding)
    out_h, out_w = output_hw
    cols = tf.matmul(tf.reshape(inputs, [batch * in_h * in_w, c_in]),
                     tf.reshape(kernel, [kh * kw * c_out, c_in]), transpose_b=True)
    cols = tf.reshape(cols, [batch, in_h * in_w * kh * kw, c_out])
    outputs = tf.matmul(tf.constant(taps.T[None], inputs.dtype), cols)
    return tf.reshape(outputs, [batch, out_h, out_w, c_out])


#: The two-band forward (:func:`band_conv2d`) needs at least this many output rows and
#: output channels (below them it was slower: the PatchGAN's 1-channel last layer).
BAND_MIN_ROWS = 16
BAND_MIN_CHANNELS = 64


def band_conv2d(inputs, kernel):
    """A batch-1, stride-1 ``VALID`` convolution computed as a batch of two row bands.

    The output rows are split in two halves; each half's input rows (``kh - 1`` rows of
    overlap) go into one batch of 2 for one ``tf.nn.conv2d`` call, and the halves are
    joined again. Every output value is computed by the same kernel from the same
    inputs, so the result is TensorFlow's (bit for bit in the tests). Why: oneDNN's
    float32 forward kernel for the PatchGAN's 34x34x256 -> 31x31x512 layer took 24.9 ms
    for one image and 28.5 ms for two (x1.75 per image); as two bands of one image it
    took 16.7 ms instead of 26.1 (BUILD.md "Performance", fourth pass). In bf16 the
    same split gained nothing, so it is a float32 path.
    """
    kh = kernel.shape[0]
    out_h = inputs.shape[1] - kh + 1
    band = -(-out_h // 2)
    rows = band + kh - 1
    second = out_h - band  # first output row of the second band
    stacked = tf.concat([inputs[:, :rows], inputs[:, second:second + rows]], axis=0)
    both = tf.nn.conv2d(stacked, kernel, 1, "VALID")
    return tf.concat([both[:1], both[1:, 2 * band - out_h:]], axis=1)


def _band_ready(layer, inputs, kernel, out_shape):
    """Whether ``layer``'s forward should run as :func:`band_conv2d`: a float32, batch-1,
    stride-1 ``VALID`` convolution with >= :data:`BAND_MIN_ROWS` output rows and >=
    :data:`BAND_MIN_CHANNELS` output channels, and (``band_forward="auto"``) faster
    than one call on this machine (:func:`measured_faster`)."""
    if not layer.band_forward or inputs.dtype != tf.float32 or not _plain_conv(layer):
        return False
    if inputs.shape[0] != 1 or tuple(layer.strides) != (1, 1) or layer.padding != "valid":
        return False
    rows = out_shape[1]
    if rows is None or rows < BAND_MIN_ROWS or kernel.shape[-1] < BAND_MIN_CHANNELS:
        return False
    return layer.band_forward is True or measured_faster(
        "band_forward", tuple(inputs.shape), tuple(kernel.shape), inputs.dtype.name)


def input_grad_by_conv(dy, kernel):
    """``dx`` of a stride-1 ``VALID`` ``y = conv2d(x, kernel)`` as a *forward* convolution:
    the output gradient, zero-padded by ``kh - 1`` / ``kw - 1`` on every side, convolved
    with the kernel flipped in space and with its channel axes swapped (the transposed
    convolution of stride 1 is a convolution; Dumoulin & Visin, "A guide to convolution
    arithmetic for deep learning", 2016, Sec. 4.1, relationship 8)."""
    kh, kw = kernel.shape[0], kernel.shape[1]
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    padded = tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
    return tf.nn.conv2d(padded, flipped, 1, "VALID")


def space_to_depth_kernel(kernel, s):
    """The ``k/s x k/s`` kernel of a stride-``s`` convolution rewritten as a stride-1 one
    on ``space_to_depth(x, s)`` (``[kh, kw, c_in, c_out]`` -> ``[kh/s, kw/s, s*s*c_in,
    c_out]``, channels in ``space_to_depth``'s (row phase, column phase, channel) order)."""
    kh, kw, c_in, c_out = kernel.shape
    phased = tf.reshape(kernel, [kh // s, s, kw // s, s, c_in, c_out])
    return tf.reshape(tf.transpose(phased, [0, 2, 1, 3, 4, 5]),
                      [kh // s, kw // s, s * s * c_in, c_out])


def strided_input_grad_by_conv(dy, kernel, input_hw, strides, padding):
    """``dx`` of ``y = conv2d(x, kernel, strides, padding)`` for ``x`` of size ``input_hw``
    (the transposed convolution, a ``Conv2DTranspose`` layer's forward) as one stride-1
    *forward* convolution.

    The strided convolution is a stride-1 one on ``space_to_depth(x, s)`` with
    :func:`space_to_depth_kernel` (kernel a multiple of the equal strides), so its input
    gradient is that stride-1 convolution's (:func:`input_grad_by_conv`: a forward
    convolution of the padded ``dy``), put back in place by ``depth_to_space`` and cropped
    to ``x``'s padding (rows no window reads get zeros). oneDNN's backward-data kernel on
    a 2-core AMD EPYC (AVX2) ran the U-Net's 16x16 -> 32x32 transposed convolution at 40
    GFLOP/s against its forward kernel's 130 (BUILD.md "Performance", seventh pass), so
    this is the probe's choice per layer (``conv_input_grad``).
    """
    kh, kw = kernel.shape[0], kernel.shape[1]
    s = _check_space_to_depth((kh, kw), strides)
    out_h, out_w = dy.shape[1], dy.shape[2]
    need_h, need_w = (out_h - 1) * s + kh, (out_w - 1) * s + kw
    top = left = 0
    if padding == "SAME":
        (top, _), (left, _) = _same_padding((need_h, need_w), input_hw)
    if s > 1:
        kernel = space_to_depth_kernel(kernel, s)
    dx = input_grad_by_conv(dy, kernel)
    if s > 1:
        dx = tf.nn.depth_to_space(dx, s)
    dx = dx[:, top:top + input_hw[0], left:left + input_hw[1]]
    rest_h, rest_w = input_hw[0] - dx.shape[1], input_hw[1] - dx.shape[2]
    if rest_h or rest_w:
        dx = tf.pad(dx, [[0, 0], [0, rest_h], [0, rest_w], [0, 0]])
    return dx


def tf_input_grad(dy, kernel, input_shape, strides, padding):
    """TensorFlow's ``Conv2DBackpropInput`` with :func:`strided_input_grad_by_conv`'s
    arguments (``input_shape`` the whole 4-D shape: a tuple, or ``tf.shape(x)``)."""
    return tf.raw_ops.Conv2DBackpropInput(input_sizes=input_shape, filter=kernel,
                                          out_backprop=dy, strides=[1, *strides, 1],
                                          padding=padding)


def _space_to_depth_possible(switch, layer, x_shape, k_shape):
    """Whether a space-to-depth path (:func:`strided_input_grad_by_conv` for the switch
    ``"conv_input_grad"``, :func:`filter_grad_by_taps` for ``"tap_weight_grad"``) can
    apply to ``layer``'s convolution from ``x_shape`` with ``k_shape`` (for a transposed
    layer: the convolution it transposes): the switch not off, static shapes, equal
    strides that divide the kernel."""
    if not getattr(layer, switch) or not _plain_conv(layer):
        return False
    if None in tuple(x_shape) or None in tuple(k_shape):
        return False
    return _fits_space_to_depth(k_shape[:2], layer.strides)


def _conv_input_grad_chosen(layer, x_shape, k_shape, dtype):
    """Whether ``layer``'s convolution from ``x_shape`` with ``k_shape`` should take its
    input gradient as :func:`strided_input_grad_by_conv`: possible
    (:func:`_space_to_depth_possible`), and forced (``conv_input_grad=True``) or
    (``"auto"``) faster than ``Conv2DBackpropInput`` on this machine
    (:func:`measured_faster`)."""
    if not _space_to_depth_possible("conv_input_grad", layer, x_shape, k_shape):
        return False
    return layer.conv_input_grad is True or measured_faster(
        "conv_input_grad", tuple(x_shape), tuple(k_shape), tf.as_dtype(dtype).name,
        tuple(layer.strides), layer.padding.upper())


def _probe_candidates(kind, x_shape, k_shape, strides, padding):
    """(TensorFlow's op, the alternative, their arguments' shapes) for ``kind``."""
    if kind == "band_forward":
        return (lambda x, k: tf.nn.conv2d(x, k, 1, "VALID"), band_conv2d,
                (x_shape, k_shape))
    y_shape = (x_shape[0], *conv_output_hw(x_shape[1:3], k_shape[:2], strides, padding),
               k_shape[3])
    if kind == "conv_input_grad":
        fixed = dict(strides=strides, padding=padding)
        return (functools.partial(tf_input_grad, input_shape=x_shape, **fixed),
                functools.partial(strided_input_grad_by_conv, input_hw=x_shape[1:3], **fixed),
                (y_shape, k_shape))
    if kind == "tap_weight_grad":
        fixed = dict(kernel_shape=k_shape, strides=strides, padding=padding)
        return (functools.partial(tf_filter_grad, **fixed),
                functools.partial(filter_grad_by_taps, **fixed),
                (x_shape, y_shape))
    raise ValueError(f"unknown measured path {kind!r}")


@functools.lru_cache(maxsize=256)
def measured_faster(kind, x_shape, k_shape, dtype, strides=(1, 1), padding="VALID"):
    """Whether the alternative path ``kind`` (``"band_forward"``: :func:`band_conv2d`;
    ``"conv_input_grad"``: :func:`strided_input_grad_by_conv`; ``"tap_weight_grad"``:
    :func:`filter_grad_by_taps`) beats TensorFlow's op for this convolution (input
    shape, kernel shape, dtype, strides and padding; ``band_forward`` is for stride-1
    ``VALID`` ones) on this machine, timed once per process.

    Why measured: which one wins depends on the CPU's oneDNN kernels. On the AMX Xeon
    (AVX-512 capped to AVX512_CORE) the two bands were x1.56 faster for the PatchGAN's
    conv_3; on an AMD EPYC (Zen 3, AVX2) they were x0.76, while the forward-convolution
    input gradient was x1.48 (conv_3) and x13.6 (the 1-channel logits) faster there
    (BUILD.md "Performance", fifth pass); the tap-by-tap weight gradient was x11.7 for
    the logits on the EPYC (seventh pass) where the im2col one had been x0.13 on an
    AVX512-BF16 Xeon (sixth pass), and the strided input gradient as a forward
    convolution x1.4 for the U-Net's 16x16 -> 32x32 transposed layer. The probe runs
    both as ``tf.function`` graphs (as they run in the step), eagerly outside any trace
    (``tf.init_scope``) on random tensors when the layer (or its gradient) is first
    traced, costs a few of the layer's calls, and logs its choice; the alternative must
    take <= ``probe.MARGIN`` of TF's time.
    """
    reference, candidate, shapes = _probe_candidates(kind, x_shape, k_shape, tuple(strides),
                                                     padding)
    with tf.init_scope():
        args = [tf.cast(tf.random.normal(shape), dtype) for shape in shapes]
        ours, theirs = probe.best_times([(tf.function(candidate), args),
                                         (tf.function(reference), args)])
    faster = probe.beats(ours, theirs)
    where = "" if (tuple(strides), padding) == ((1, 1), "VALID") else (
        f", strides {tuple(strides)} {padding}")
    logger.info("networks.conv: %s for input %s, kernel %s, %s%s: %.2f ms vs TF's %.2f ms "
                 "-> %s", kind, x_shape, k_shape, dtype, where, 1e3 * ours, 1e3 * theirs,
                 "taken" if faster else "TF's op")
    return faster


def _tri_state(name, value):
    """``value`` if it is ``True``, ``False`` or ``"auto"``; else a ValueError naming it."""
    if value is True or value is False or value == "auto":
        return value
    raise ValueError(f"{name} must be True, False or 'auto', got {value!r}")


def _plain_conv(layer):
    """Whether ``layer``'s configuration is one the matmul paths cover."""
    if keras.backend.backend() != "tensorflow" or layer.data_format != "channels_last":
        return False
    return getattr(layer, "groups", 1) == 1 and tuple(layer.dilation_rate) == (1, 1)


def _matmul_ready(layer, positions):
    """Whether ``layer`` (a conv layer) can and should take the matmul weight gradient for
    ``positions`` summed positions (``None``: not known while tracing)."""
    if positions is None or positions > layer.matmul_grad_max_positions:
        return False
    return _plain_conv(layer)


def _dense_ready(layer, low_positions):
    """Whether ``layer`` should run as :func:`dense_conv2d` (or its transpose): its
    low-resolution side has ``low_positions`` (batch x h x w) <= ``dense_max_positions``."""
    if low_positions is None or low_positions > layer.dense_max_positions:
        return False
    return _plain_conv(layer)


def tf_filter_grad(inputs, grad, kernel_shape, strides, padding):
    """TensorFlow's ``Conv2DBackpropFilter`` with :func:`filter_grad`'s arguments."""
    return tf.raw_ops.Conv2DBackpropFilter(input=inputs, filter_sizes=list(kernel_shape),
                                           out_backprop=grad, strides=[1, *strides, 1],
                                           padding=padding)


def _measured_filter_grad(layer):
    """A weight gradient with :func:`filter_grad`'s arguments that is
    :func:`filter_grad_by_taps` where ``layer.tap_weight_grad`` is ``True`` or (``"auto"``)
    where :func:`measured_faster` found it faster than ``Conv2DBackpropFilter`` for
    these shapes, and TensorFlow's op otherwise. It decides when the gradient is traced,
    so layers that are only ever run forward (inference, export) never pay the probe."""

    def weight_grad(inputs, grad, kernel_shape, strides, padding):
        if layer.tap_weight_grad is True or measured_faster(
                "tap_weight_grad", tuple(inputs.shape), tuple(kernel_shape),
                inputs.dtype.name, tuple(strides), padding):
            return filter_grad_by_taps(inputs, grad, kernel_shape, strides, padding)
        return tf_filter_grad(inputs, grad, kernel_shape, strides, padding)

    return weight_grad


class _MatmulGradMixin:
    """The ``matmul_grad_max_positions``, ``dense_max_positions``, ``tap_weight_grad``
    and ``conv_input_grad`` arguments and config entries of both layers."""

    def __init__(self, *args, matmul_grad_max_positions=DEFAULT_MAX_POSITIONS,
                 dense_max_positions=DEFAULT_DENSE_MAX_POSITIONS, tap_weight_grad="auto",
                 conv_input_grad="auto", **kwargs):
        super().__init__(*args, **kwargs)
        for name, value, what in (
                ("matmul_grad_max_positions", matmul_grad_max_positions,
                 "the matmul weight gradient"),
                ("dense_max_positions", dense_max_positions, "the dense matmul layer")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0 (0 turns {what} off), "
                                 f"got {value!r}")
        self.matmul_grad_max_positions = matmul_grad_max_positions
        self.dense_max_positions = dense_max_positions
        self.tap_weight_grad = _tri_state("tap_weight_grad", tap_weight_grad)
        self.conv_input_grad = _tri_state("conv_input_grad", conv_input_grad)

    def get_config(self):
        config = super().get_config()
        config["matmul_grad_max_positions"] = self.matmul_grad_max_positions
        config["dense_max_positions"] = self.dense_max_positions
        config["tap_weight_grad"] = self.tap_weight_grad
        config["conv_input_grad"] = self.conv_input_grad
        return config

    def _weight_grad_fn(self, positions, x_shape, k_shape):
        """The weight gradient to use instead of ``Conv2DBackpropFilter``: :func:`filter_grad`
        for at most ``matmul_grad_max_positions`` positions, else the measured choice of
        :func:`filter_grad_by_taps` where it can apply; ``None``: TensorFlow's op."""
        if _matmul_ready(self, positions):
            return filter_grad
        if _space_to_depth_possible("tap_weight_grad", self, x_shape, k_shape):
            return _measured_filter_grad(self)
        return None


def _backward_scope():
    """A name scope for the custom backward ops that reads like TensorFlow's own
    (``gradient_tape/<forward scope>/``), so profiles attribute them to their layer."""
    forward = tf.get_current_name_scope()
    return lambda: tf.name_scope(f"gradient_tape/{forward}/" if forward else "gradient_tape/")


def _positions(shape):
    """Batch x height x width of a static 4-D shape, or ``None`` if any is unknown."""
    dims = list(shape)[:3]
    if len(shape) != 4 or any(d is None for d in dims):
        return None
    return dims[0] * dims[1] * dims[2]


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class MatmulGradConv2D(_MatmulGradMixin, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with the im2col + matmul weight gradient, as dense matmuls
    when its output is small, with the two-band forward of :func:`band_conv2d` (float32,
    batch 1, stride 1, ``VALID``), the tap-by-tap weight gradient and the input gradient
    as a forward convolution where the probe chose them; see the module."""

    def __init__(self, *args, band_forward="auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.band_forward = _tri_state("band_forward", band_forward)

    def get_config(self):
        config = super().get_config()
        config["band_forward"] = self.band_forward
        return config

    def convolution_op(self, inputs, kernel):
        forward = super().convolution_op
        out_shape = self.compute_output_shape(inputs.shape)
        strides, padding = list(self.strides), self.padding.upper()
        positions = _positions(out_shape)  # None unless the input shape is static
        if _dense_ready(self, positions):
            outputs = dense_conv2d(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel),
                                   strides, padding)
            if outputs is not None:
                return outputs
        weight_grad = self._weight_grad_fn(positions, inputs.shape, kernel.shape)
        bands = _band_ready(self, inputs, kernel, out_shape)
        input_by_conv = _space_to_depth_possible("conv_input_grad", self, inputs.shape,
                                                 kernel.shape)
        if not (weight_grad or bands or input_by_conv):
            return forward(inputs, kernel)
        scope = _backward_scope()

        @tf.custom_gradient
        def conv(x, w):
            def grad(dy):
                with scope():
                    if input_by_conv and _conv_input_grad_chosen(self, x.shape, w.shape,
                                                                 dy.dtype):
                        dx = strided_input_grad_by_conv(dy, w, x.shape[1:3], strides, padding)
                    else:
                        dx = tf_input_grad(dy, w, tf.shape(x), strides, padding)
                    return dx, (weight_grad or tf_filter_grad)(x, dy, w.shape, strides,
                                                               padding)
            return (band_conv2d(x, w) if bands else forward(x, w)), grad

        return conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class MatmulGradConv2DTranspose(_MatmulGradMixin, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` with the im2col + matmul weight gradient, as dense
    matmuls when its input is small, and with the tap-by-tap weight gradient and the
    forward as a stride-1 forward convolution (:func:`strided_input_grad_by_conv`) where
    the probe chose them; see the module."""

    def call(self, inputs):
        outputs = None
        if self.output_padding is None:
            outputs = self._matmul_paths(inputs, _positions(inputs.shape))
        if outputs is None:
            return super().call(inputs)
        if self.use_bias:
            outputs = keras.ops.add(outputs, keras.ops.reshape(self.bias, (1, 1, 1, self.filters)))
        if self.activation is not None:
            return self.activation(outputs)
        return outputs

    def _matmul_paths(self, inputs, positions):
        """The dense layer or a matmul weight gradient for ``inputs`` (before bias and
        activation), or ``None`` where neither applies."""
        strides, padding = list(self.strides), self.padding.upper()
        x, kernel = tf.convert_to_tensor(inputs), tf.convert_to_tensor(self.kernel)
        out_hw = tuple(self.compute_output_shape(inputs.shape)[1:3])
        if _dense_ready(self, positions):
            outputs = dense_conv2d_transpose(x, kernel, out_hw, strides, padding)
            if outputs is not None:
                return outputs
        if positions is None or None in out_hw or tuple(conv_output_hw(
                out_hw, kernel.shape[:2], tuple(strides), padding)) != tuple(x.shape[1:3]):
            return None
        # Both are those of the convolution it transposes: from the output (dy, out_hw x
        # c_out) to the input (x, c_in). Its input gradient is this layer's forward.
        conv_shape = (x.shape[0], *out_hw, kernel.shape[2])
        weight_grad = self._weight_grad_fn(positions, conv_shape, kernel.shape)
        by_conv = _conv_input_grad_chosen(self, conv_shape, kernel.shape, x.dtype)
        if weight_grad is None and not by_conv:
            return None
        return self._custom_op(x, kernel, strides, padding, out_hw, weight_grad, by_conv)

    def _custom_op(self, x, kernel, strides, padding, out_hw, weight_grad, by_conv):
        """The transposed convolution with ``weight_grad`` (``None``: TensorFlow's) as its
        weight gradient, and as :func:`strided_input_grad_by_conv` if ``by_conv``."""
        scope = _backward_scope()
        weight_grad = weight_grad or tf_filter_grad

        @tf.custom_gradient
        def op(x, w):
            def grad(dy):
                # y = Conv2DBackpropInput(W, x): its input gradient is Conv2D(dy, W) and
                # its weight gradient the conv weight gradient with dy as the input.
                with scope():
                    dx = tf.nn.conv2d(dy, w, strides=strides, padding=padding)
                    return dx, weight_grad(dy, x, w.shape, strides, padding)
            if by_conv:
                return strided_input_grad_by_conv(x, w, out_hw, strides, padding), grad
            return keras.ops.conv_transpose(x, w, strides=strides, padding=self.padding,
                                            data_format=self.data_format), grad

        return op(x, kernel)
