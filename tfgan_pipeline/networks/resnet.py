"""The ResNet generator of CycleGAN, with reflection padding and instance normalisation.

Paper: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017, Sec. 4 and appendix 7.2, after
Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style Transfer", ECCV 2016:

    c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3

``c7s1-k``: 7x7 convolution, stride 1, k filters, instance norm, ReLU (reflection
padding 3); ``dk``: 3x3 convolution, stride 2; ``Rk``: residual block of two 3x3
convolutions (reflection padding 1, instance norm, ReLU after the first);
``uk``: 3x3 fractional-strided (transposed) convolution, stride 1/2. The last layer
has no normalisation and a tanh. "We use 6 residual blocks for 128x128 training
images, and 9 residual blocks for 256x256 or higher-resolution training images."
Weights are initialised from N(0, 0.02) (appendix 7.1). Instance normalisation is
Keras' ``GroupNormalization(groups=-1)`` (one group per channel) on a fused kernel
(:mod:`tfgan_pipeline.networks.instance_norm`). The convolutions are
:mod:`tfgan_pipeline.networks.conv`'s layers, so their gradients take the probe-chosen
paths: on a 2-core AMD EPYC, TensorFlow's input and weight gradients of the 7x7 64 -> 3
output layer took 376 + 612 ms per call, the forward convolution and the tap-by-tap
form 14 + 49 (BUILD.md "Performance", seventh pass).
"""

import keras

from tfgan_pipeline.networks.conv import MatmulGradConv2D, MatmulGradConv2DTranspose
from tfgan_pipeline.networks.unet import conv_initializer, norm_layer


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class ReflectionPad2D(keras.layers.Layer):
    """Pads height and width by ``padding`` pixels, mirroring the border (no edge repeat)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return keras.ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = 2 * self.padding
        return (b, None if h is None else h + grow, None if w is None else w + grow, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def resnet_blocks_for(image_size):
    """The paper's choice: 6 residual blocks below 256x256 training images, 9 from 256 up."""
    return 9 if int(image_size) >= 256 else 6


def _conv(x, filters, kernel, stride, name, norm, reflect=0, activation="relu"):
    if reflect:
        x = ReflectionPad2D(reflect, name=f"{name}_pad")(x)
    x = MatmulGradConv2D(filters, kernel, strides=stride,
                         padding="valid" if reflect or stride == 1 else "same",
                         use_bias=norm == "none", kernel_initializer=conv_initializer(),
                         name=f"{name}_conv")(x)
    if norm != "none":
        x = norm_layer(norm, f"{name}_norm")(x)
    if activation:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def resnet_generator(image_size=256, channels=3, output_channels=None, base_filters=64,
                     num_blocks=None, norm="instance", name="resnet_generator"):
    """Builds the CycleGAN generator ``image -> image`` (both in [-1, 1]).

    Args:
      image_size: training image side (sets the default number of blocks; the model
        itself is fully convolutional and takes any size divisible by 4).
      channels: input channels.
      output_channels: output channels (default ``channels``).
      base_filters: filters of the first layer (64 in the paper).
      num_blocks: residual blocks; ``None``: :func:`resnet_blocks_for` (6 or 9).
      norm: ``"instance"`` (paper), ``"batch"`` or ``"none"``.
      name: model name.

    Returns:
      A functional ``keras.Model`` ``[batch, h, w, channels] -> [batch, h, w, out]``
      whose output is float32 in [-1, 1].
    """
    if int(image_size) < 16 or int(image_size) % 4:
        raise ValueError(f"The ResNet generator downsamples twice: image_size must be a "
                         f"multiple of 4 and >= 16, got {image_size}.")
    blocks = resnet_blocks_for(image_size) if num_blocks is None else int(num_blocks)
    if blocks < 1:
        raise ValueError(f"num_blocks must be >= 1, got {num_blocks}.")
    f = int(base_filters)
    inputs = keras.Input((None, None, int(channels)), name="image")
    x = _conv(inputs, f, 7, 1, "c7s1_in", norm, reflect=3)
    x = _conv(x, 2 * f, 3, 2, "d1", norm)
    x = _conv(x, 4 * f, 3, 2, "d2", norm)
    for i in range(blocks):
        y = _conv(x, 4 * f, 3, 1, f"res{i}_a", norm, reflect=1)
        y = _conv(y, 4 * f, 3, 1, f"res{i}_b", norm, reflect=1, activation=None)
        x = keras.layers.Add(name=f"res{i}_add")([x, y])
    for i, filters in enumerate((2 * f, f)):
        x = MatmulGradConv2DTranspose(filters, 3, strides=2, padding="same",
                                      use_bias=norm == "none",
                                      kernel_initializer=conv_initializer(),
                                      name=f"u{i + 1}_deconv")(x)
        if norm != "none":
            x = norm_layer(norm, f"u{i + 1}_norm")(x)
        x = keras.layers.Activation("relu", name=f"u{i + 1}_relu")(x)
    x = ReflectionPad2D(3, name="c7s1_out_pad")(x)
    x = MatmulGradConv2D(int(output_channels or channels), 7, padding="valid",
                         kernel_initializer=conv_initializer(), name="c7s1_out_conv")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
