"""pix2pix U-Net generator (and its encoder-decoder baseline).

Paper: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 — Sec. 3.2.1 (U-Net with skips), Sec. 4.4 / Fig. 5
(encoder-decoder ablation), appendix 6.1.1 (architecture).

Notation (appendix 6.1): ``Ck`` is Convolution-BatchNorm-ReLU with k filters,
``CDk`` is Convolution-BatchNorm-Dropout-ReLU with 50% dropout; every convolution
is 4x4 with stride 2 (down-sampling by 2 in the encoder, up-sampling by 2 in the
decoder). At 256x256::

    encoder:         C64-C128-C256-C512-C512-C512-C512-C512
    U-Net decoder:   CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128

The decoder numbers count the channels a decoder layer *receives*: from the second
layer on, its input is the previous decoder output (512, 256, ...) concatenated
with the mirrored encoder activation, which doubles the count. The transposed
convolutions therefore output 512-512-512-512-256-128-64 channels, and "after the
last layer in the decoder, a convolution is applied to map to the number of output
channels (3 in general), followed by a Tanh". The encoder-decoder baseline
(``skip_connections=False``) has the decoder CD512-CD512-CD512-C512-C256-C128-C64
and no concatenations. Encoder ReLUs are leaky (slope 0.2), decoder ReLUs are not.

Choices where the paper's text is silent or loose, and why:

* BatchNorm is not applied to the first encoder layer (the paper says so) **nor to
  the innermost (bottleneck) one**, as in the authors' Torch code
  (``models.lua``, ``defineG_unet``: the ``e8`` normalisation is commented out)
  and the PyTorch port. At batch size 1 the bottleneck map is 1x1, so BatchNorm
  over batch statistics would replace every activation by its offset ``beta`` and
  carry no information at all (fatal for the encoder-decoder baseline).
* Layer order follows the paper's notation (and the TensorFlow tutorial): a stage
  is ``(transposed) conv -> norm [-> dropout] -> activation`` and a skip carries
  the encoder stage's activated output. (The authors' code applies each activation
  at the start of the next stage instead, so its skips carry pre-activation values
  and the decoder ReLU also rectifies them; the parameters are the same.)
* Convolutions followed by a normalisation have no bias (its offset plays that
  role); the others (first, innermost, output) have one.
* Initialisation as in the authors' code: kernels ~ N(0, 0.02), BatchNorm scale ~
  N(1, 0.02), offsets 0. BatchNorm uses ``momentum=0.9``, ``epsilon=1e-5`` (Torch's
  0.1 update rate and epsilon).
* Depth follows the image size: ``log2(image_size)`` down-sampling layers, so the
  bottleneck is always 1x1 (64 -> 6, 128 -> 7, 256 -> 8, 512 -> 9); filters double
  from ``base_filters`` up to ``8 * base_filters``. Dropout goes in the first
  ``min(3, depth - 1)`` decoder layers.
* BatchNorm is ``synchronized=True`` by default, so ``MirroredStrategy`` training
  computes statistics over the global batch and matches one device. It is a
  :class:`~tfgan_pipeline.networks.batch_norm.FusedBatchNormalization` (a Keras
  ``BatchNormalization`` that trains with TensorFlow's fused kernel where that
  computes the same thing: one replica in sync).

Parameter count (``model.count_params()``, which includes BatchNorm moving
statistics) of the default 256x256 generator: 54,424,387. The TensorFlow pix2pix
tutorial's generator has 54,425,859: it normalises the bottleneck (+2,048) and has
no bias in the first and innermost convolutions (-64 - 512). The PyTorch port prints
"54.414 M": trainable parameters only, also without those biases (ours: 54,414,531
trainable).

Mixed precision: the output convolution and the tanh run in float32, so the image
comes back as float32 under ``mixed_bfloat16``.

The generator's test-time behaviour (the paper keeps dropout and batch statistics
at test time) is chosen by :func:`tfgan_pipeline.models.pix2pix.make_translate_fn`,
not here.
"""

import math

import keras

from tfgan_pipeline.networks.conv import MatmulGradConv2D, MatmulGradConv2DTranspose
from tfgan_pipeline.networks.batch_norm import FusedBatchNormalization
from tfgan_pipeline.networks.instance_norm import FusedInstanceNormalization

#: Filters stop doubling at ``MAX_FILTER_MULTIPLIER * base_filters`` (512 for 64).
MAX_FILTER_MULTIPLIER = 8
#: Smallest supported image size (a 4-layer U-Net).
MIN_IMAGE_SIZE = 16
#: Supported ``norm`` values.
NORMS = ("batch", "instance", "none")


def conv_initializer():
    """Returns a fresh N(0, 0.02) kernel initializer.

    One per layer: a Keras initializer instance draws the same values on every call.
    """
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def norm_layer(kind, name, sync_batch_norm=True):
    """Returns the normalisation layer for ``kind``.

    Args:
      kind: ``"batch"`` (the paper), ``"instance"`` (per-example, per-channel
        statistics; a GroupNormalization with one group per channel, on the fused
        kernel of :mod:`tfgan_pipeline.networks.instance_norm`) or ``"none"``.
      name: layer name.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.

    Raises:
      ValueError: for an unknown ``kind``.
    """
    check_norm(kind)
    if kind == "batch":
        return FusedBatchNormalization(
            momentum=0.9, epsilon=1e-5, synchronized=sync_batch_norm,
            gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02), name=name)
    if kind == "instance":
        return FusedInstanceNormalization(
            epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
            name=name)
    return None


def check_norm(kind):
    """Raises ``ValueError`` unless ``kind`` names a supported normalisation."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}.")


def unet_depth(image_size):
    """Number of down-sampling layers for ``image_size``: ``log2(image_size)``.

    Raises:
      ValueError: if ``image_size`` is not a power of two >= ``MIN_IMAGE_SIZE``.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise TypeError(f"image_size must be an int, got {type(image_size).__name__}.")
    if image_size < MIN_IMAGE_SIZE or image_size & (image_size - 1):
        raise ValueError(
            f"The U-Net needs a square image whose side is a power of two >= "
            f"{MIN_IMAGE_SIZE} (it halves the size down to 1x1), got {image_size}. "
            "Resize or crop the images, e.g. to 256.")
    return int(math.log2(image_size))


def unet_plan(image_size=256, base_filters=64, skip_connections=True, dropout=0.5):
    """The layer plan of :func:`unet_generator`, as plain data.

    Returns:
      A dict with ``encoder``: filters of each down-sampling layer; ``decoder``:
      output filters of each up-sampling layer (before the output convolution);
      ``decoder_inputs``: the channels each decoder layer receives (the paper's
      ``CDk``/``Ck`` numbers); ``dropout``: the decoder layers' dropout rates.
    """
    depth = unet_depth(image_size)
    if int(base_filters) < 1:
        raise ValueError(f"base_filters must be a positive integer, got {base_filters}.")
    cap = MAX_FILTER_MULTIPLIER * int(base_filters)
    encoder = [min(int(base_filters) * 2 ** i, cap) for i in range(depth)]
    decoder = encoder[-2::-1]
    decoder_inputs = [encoder[-1]] + [
        f * (2 if skip_connections else 1) for f in decoder]
    n_dropout = min(3, len(decoder)) if dropout > 0 else 0
    rates = [float(dropout)] * n_dropout + [0.0] * (len(decoder) - n_dropout)
    return dict(encoder=encoder, decoder=decoder, decoder_inputs=decoder_inputs,
                dropout=rates)


def unet_generator(image_size=256, input_channels=3, output_channels=3, base_filters=64,
                   skip_connections=True, dropout=0.5, norm="batch", sync_batch_norm=True,
                   leaky_relu_slope=0.2, name=None):
    """Builds the pix2pix generator ``image -> image``, outputs in [-1, 1] (float32).

    Args:
      image_size: input and output height and width; a power of two >= 16.
      input_channels: channels of the conditioning image.
      output_channels: channels of the produced image.
      base_filters: filters of the first layer (64 in the paper); layers double
        them up to ``8 * base_filters``. Tests use e.g. 8.
      skip_connections: ``True`` for the U-Net, ``False`` for the paper's
        encoder-decoder baseline (no concatenations).
      dropout: rate of the dropout in the first three decoder layers (0.5 in the
        paper; 0 removes the Dropout layers, e.g. for deterministic tests).
      norm: ``"batch"`` (paper), ``"instance"`` or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      leaky_relu_slope: encoder LeakyReLU slope.
      name: model name (default ``"unet_generator"`` or
        ``"encoder_decoder_generator"``).

    Returns:
      A functional ``keras.Model`` from ``[batch, image_size, image_size,
      input_channels]`` to ``[batch, image_size, image_size, output_channels]``.
    """
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
    for arg, value in (("input_channels", input_channels), ("output_channels", output_channels)):
        if int(value) < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value}.")
    check_norm(norm)
    plan = unet_plan(image_size, base_filters, skip_connections, dropout)
    depth = len(plan["encoder"])
    if name is None:
        name = "unet_generator" if skip_connections else "encoder_decoder_generator"

    image = keras.Input((image_size, image_size, int(input_channels)), name="input_image")

    # Encoder: conv(4, stride 2) [-> norm] -> LeakyReLU; no norm first and innermost.
    x = image
    skips = []
    for i, filters in enumerate(plan["encoder"]):
        normalise = norm != "none" and 0 < i < depth - 1
        x = MatmulGradConv2D(filters, 4, strides=2, padding="same", use_bias=not normalise,
                              kernel_initializer=conv_initializer(), name=f"enc_conv_{i}")(x)
        if normalise:
            x = norm_layer(norm, f"enc_norm_{i}", sync_batch_norm)(x)
        x = keras.layers.LeakyReLU(negative_slope=leaky_relu_slope, name=f"enc_act_{i}")(x)
        skips.append(x)

    # Decoder: transposed conv(4, stride 2) -> norm [-> dropout] -> ReLU [-> concat skip].
    for i, (filters, rate) in enumerate(zip(plan["decoder"], plan["dropout"])):
        x = MatmulGradConv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=(norm == "none"),
            kernel_initializer=conv_initializer(), name=f"dec_conv_{i}")(x)
        if norm != "none":
            x = norm_layer(norm, f"dec_norm_{i}", sync_batch_norm)(x)
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"dec_dropout_{i}")(x)
        x = keras.layers.ReLU(name=f"dec_act_{i}")(x)
        if skip_connections:
            x = keras.layers.Concatenate(name=f"skip_{i}")([x, skips[depth - 2 - i]])

    # Output: transposed conv to output channels -> tanh, in float32.
    x = MatmulGradConv2DTranspose(
        int(output_channels), 4, strides=2, padding="same", dtype="float32",
        kernel_initializer=conv_initializer(), name="out_conv")(x)
    x = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(image, x, name=name)
