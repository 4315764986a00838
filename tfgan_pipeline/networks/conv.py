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
"""

import keras
import tensorflow as tf

DEFAULT_MAX_POSITIONS = 256


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


def _matmul_ready(layer, positions):
    """Whether ``layer`` (a conv layer) can and should take the matmul weight gradient for
    ``positions`` summed positions (``None``: not known while tracing)."""
    if positions is None or positions > layer.matmul_grad_max_positions:
        return False
    if keras.backend.backend() != "tensorflow" or layer.data_format != "channels_last":
        return False
    return getattr(layer, "groups", 1) == 1 and tuple(layer.dilation_rate) == (1, 1)


class _MatmulGradMixin:
    """The ``matmul_grad_max_positions`` argument and config entry of both layers."""

    def __init__(self, *args, matmul_grad_max_positions=DEFAULT_MAX_POSITIONS, **kwargs):
        super().__init__(*args, **kwargs)
        value = matmul_grad_max_positions
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("matmul_grad_max_positions must be an int >= 0 (0 turns the "
                             f"matmul weight gradient off), got {value!r}")
        self.matmul_grad_max_positions = value

    def get_config(self):
        config = super().get_config()
        config["matmul_grad_max_positions"] = self.matmul_grad_max_positions
        return config


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
    """``keras.layers.Conv2D`` with the im2col + matmul weight gradient; see the module."""

    def convolution_op(self, inputs, kernel):
        forward = super().convolution_op
        out_shape = self.compute_output_shape(inputs.shape)
        if not _matmul_ready(self, _positions(out_shape)):
            return forward(inputs, kernel)
        strides, padding = list(self.strides), self.padding.upper()
        scope = _backward_scope()

        @tf.custom_gradient
        def conv(x, w):
            def grad(dy):
                with scope():
                    dx = tf.raw_ops.Conv2DBackpropInput(
                        input_sizes=tf.shape(x), filter=w, out_backprop=dy,
                        strides=[1, *strides, 1], padding=padding)
                    return dx, filter_grad(x, dy, w.shape, strides, padding)
            return forward(x, w), grad

        return conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class MatmulGradConv2DTranspose(_MatmulGradMixin, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` with the im2col + matmul weight gradient; see the
    module."""

    def call(self, inputs):
        if self.output_padding is not None or not _matmul_ready(self, _positions(inputs.shape)):
            return super().call(inputs)
        strides, padding = list(self.strides), self.padding.upper()
        conv_transpose = lambda x, w: keras.ops.conv_transpose(  # noqa: E731
            x, w, strides=strides, padding=self.padding, data_format=self.data_format)
        scope = _backward_scope()

        @tf.custom_gradient
        def op(x, w):
            def grad(dy):
                # y = Conv2DBackpropInput(W, x): its input gradient is Conv2D(dy, W) and
                # its weight gradient the conv weight gradient with dy as the input.
                with scope():
                    dx = tf.nn.conv2d(dy, w, strides=strides, padding=padding)
                    return dx, filter_grad(dy, x, w.shape, strides, padding)
            return conv_transpose(x, w), grad

        outputs = op(tf.convert_to_tensor(inputs), tf.convert_to_tensor(self.kernel))
        if self.use_bias:
            outputs = keras.ops.add(outputs, keras.ops.reshape(self.bias, (1, 1, 1, self.filters)))
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
