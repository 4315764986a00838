"""pix2pix conditional PatchGAN discriminator.

Paper: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 — Sec. 3.2.2 (Markovian discriminator: classify
each N x N patch as real or fake, average the answers), Sec. 4.4 / Table 3 (patch
sizes 1, 16, 70, 286) and appendix 6.1.2 (architectures).

The discriminator is conditional: it sees the input image and a (real or
generated) target, concatenated along channels, and returns a map of logits
``[batch, h, w, 1]`` (float32), one per patch. The losses in
:mod:`tfgan_pipeline.losses` average such a map per example, which is the paper's
"average all responses".

Layer configurations (appendix 6.1.2; ``Ck`` = 4x4 Convolution-BatchNorm-LeakyReLU(0.2)
with k filters, no BatchNorm on the first C64; after the last layer a convolution
maps to one channel)::

    receptive field   layers                           strides
    1  (PixelGAN)     C64-C128, all convolutions 1x1   1, 1, then 1
    16                C64-C128                         2, 1, then 1
    70 (default)      C64-C128-C256-C512               2, 2, 2, 1, then 1
    286 (ImageGAN)    C64-C128-C256-C512-C512-C512     2, 2, 2, 2, 2, 1, then 1

The strides are the authors' (the appendix omits them): every layer but the last
``Ck`` halves the resolution, and 4x4 convolutions pad by 1 on each side, as in the
Torch/PyTorch code. :func:`receptive_field` recomputes the field from the kernel
sizes and strides and gives exactly 1, 16, 70 and 286 for these stacks. At 256x256
the 70x70 discriminator returns a 30x30 patch map and has 2,770,497 parameters
(``count_params``, including BatchNorm moving statistics; the TensorFlow tutorial's
version has 2,770,433, without the first convolution's 64 biases).

The sigmoid of the paper's last layer is left to the loss (logits in, as everywhere
in :mod:`tfgan_pipeline.losses`). BatchNorm is synchronised across replicas by
default; the output convolution runs in float32 for mixed precision.
"""

import keras

from tfgan_pipeline.networks.conv import MatmulGradConv2D
from tfgan_pipeline.networks.unet import (
    MAX_FILTER_MULTIPLIER, check_norm, conv_initializer, norm_layer)

#: Receptive fields of the paper's discriminators -> number of ``Ck`` layers.
RECEPTIVE_FIELDS = {1: 2, 16: 2, 70: 4, 286: 6}


def patchgan_layers(receptive_field=70, base_filters=64):
    """The layer plan of the PatchGAN with the given receptive field, as plain data.

    Args:
      receptive_field: 1 (PixelGAN), 16, 70 or 286 (ImageGAN at 256x256).
      base_filters: filters of the first layer (64 in the paper).

    Returns:
      A tuple of dicts, one per convolution (the last one is the 1-channel output),
      with keys ``filters``, ``kernel``, ``stride``, ``padding`` (zeros added on each
      side), ``norm`` and ``activation`` (booleans).

    Raises:
      ValueError: for another receptive field.
    """
    if receptive_field not in RECEPTIVE_FIELDS:
        raise ValueError(
            f"receptive_field must be one of {sorted(RECEPTIVE_FIELDS)} (the paper's "
            f"PixelGAN, 16x16, 70x70 and 286x286 PatchGANs), got {receptive_field!r}.")
    if int(base_filters) < 1:
        raise ValueError(f"base_filters must be a positive integer, got {base_filters}.")
    n = RECEPTIVE_FIELDS[receptive_field]
    kernel, padding = (1, 0) if receptive_field == 1 else (4, 1)
    cap = MAX_FILTER_MULTIPLIER * int(base_filters)
    layers = []
    for i in range(n):
        stride = 2 if (i < n - 1 and receptive_field != 1) else 1
        layers.append(dict(filters=min(int(base_filters) * 2 ** i, cap), kernel=kernel,
                           stride=stride, padding=padding, norm=i > 0, activation=True))
    layers.append(dict(filters=1, kernel=kernel, stride=1, padding=padding, norm=False,
                       activation=False))
    return tuple(layers)


def _spatial_ops(layer):
    """Yields ``(kernel, stride)`` for each spatial operation in a Keras layer."""
    if isinstance(layer, keras.Model):
        for sub in layer.layers:
            yield from _spatial_ops(sub)
        return
    if isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D)):
        raise ValueError(
            f"receptive_field handles down-sampling stacks only; layer {layer.name!r} "
            f"({type(layer).__name__}) up-samples.")
    if isinstance(layer, keras.layers.Conv2D):
        k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
        if k[0] != k[1] or s[0] != s[1] or d[0] != d[1]:
            raise ValueError(
                f"receptive_field needs square kernels, strides and dilations; layer "
                f"{layer.name!r} has kernel {k}, strides {s}, dilation {d}.")
        yield d[0] * (k[0] - 1) + 1, s[0]
    elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        yield layer.pool_size[0], layer.strides[0]


def receptive_field(model_or_layers):
    """Receptive field (in input pixels) of one output unit of a convolution stack.

    Uses ``r = 1 + sum_i (k_i - 1) * prod_{j<i} s_j`` over the stack's kernels
    ``k_i`` and strides ``s_i``; padding does not change it.

    Args:
      model_or_layers: a ``keras.Model`` whose layers form a chain (e.g. from
        :func:`patchgan_discriminator`; pointwise layers, padding and the input
        concatenation are ignored), or a sequence of layer specs: dicts with
        ``kernel`` and ``stride`` (as from :func:`patchgan_layers`) or
        ``(kernel, stride)`` pairs.

    Returns:
      The receptive field as an int.
    """
    if isinstance(model_or_layers, keras.Model):
        ops = list(_spatial_ops(model_or_layers))
    else:
        ops = [(spec["kernel"], spec["stride"]) if isinstance(spec, dict) else tuple(spec)
               for spec in model_or_layers]
    field, jump = 1, 1
    for kernel, stride in ops:
        field += (int(kernel) - 1) * jump
        jump *= int(stride)
    return field


def patchgan_output_size(image_size, receptive_field=70):
    """Side of the patch map the discriminator returns for ``image_size`` inputs."""
    size = int(image_size)
    for spec in patchgan_layers(receptive_field):
        size = (size + 2 * spec["padding"] - spec["kernel"]) // spec["stride"] + 1
    return size


def patchgan_discriminator(image_size=256, input_channels=3, target_channels=3,
                           receptive_field=70, base_filters=64, norm="batch",
                           sync_batch_norm=True, leaky_relu_slope=0.2,
                           name="patchgan_discriminator"):
    """Builds the conditional PatchGAN ``[input, target] -> patch logits``.

    With ``input_channels=0`` it is the unconditional PatchGAN ``image -> patch
    logits`` of CycleGAN (Zhu et al. 2017, appendix 7.2: C64-C128-C256-C512, instance
    norm, 70x70).

    Args:
      image_size: height and width of both images.
      input_channels: channels of the conditioning (input) image; 0 for none.
      target_channels: channels of the real or generated target image.
      receptive_field: 1, 16, 70 (paper default) or 286; see the module docstring.
      base_filters: filters of the first layer (64 in the paper).
      norm: ``"batch"`` (paper), ``"instance"`` or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      leaky_relu_slope: LeakyReLU slope (0.2 in the paper).
      name: model name.

    Returns:
      A functional ``keras.Model`` taking ``[input_image, target_image]`` (or one
      image when ``input_channels=0``) and returning float32 logits ``[batch, h, w, 1]`` with ``h = w =
      patchgan_output_size(image_size, receptive_field)`` (30 for 70 at 256).

    Raises:
      ValueError: for an unsupported receptive field or norm, or an image too small
        for the chosen discriminator.
    """
    check_norm(norm)
    specs = patchgan_layers(receptive_field, base_filters)
    out_size = patchgan_output_size(image_size, receptive_field)
    if out_size < 1:
        smallest = next(s for s in range(1, 4096) if patchgan_output_size(s, receptive_field) >= 1)
        raise ValueError(
            f"image_size {image_size} is too small for the {receptive_field}x"
            f"{receptive_field} PatchGAN (its patch map would be empty); use images of "
            f"at least {smallest} pixels or a smaller receptive_field.")
    shape = (int(image_size), int(image_size))
    target = keras.Input(shape + (int(target_channels),), name="target_image")
    if int(input_channels):
        source = keras.Input(shape + (int(input_channels),), name="input_image")
        x = keras.layers.Concatenate(name="pair")([source, target])
    else:
        source, x = None, target
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1
        normalise = spec["norm"] and norm != "none"
        if spec["padding"]:
            x = keras.layers.ZeroPadding2D(spec["padding"], name=f"pad_{i}")(x)
        x = MatmulGradConv2D(
            spec["filters"], spec["kernel"], strides=spec["stride"], padding="valid",
            use_bias=not normalise, kernel_initializer=conv_initializer(),
            dtype="float32" if last else None, name="logits" if last else f"conv_{i}")(x)
        if normalise:
            x = norm_layer(norm, f"norm_{i}", sync_batch_norm)(x)
        if spec["activation"]:
            x = keras.layers.LeakyReLU(negative_slope=leaky_relu_slope, name=f"act_{i}")(x)
    return keras.Model(target if source is None else [source, target], x, name=name)
