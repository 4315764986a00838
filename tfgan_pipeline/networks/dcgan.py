"""DCGAN generator and discriminator.

Paper: Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016, Sec. 3 (architecture
guidelines): strided convolutions instead of pooling, BatchNorm in both networks
(not on the generator output or the discriminator input), ReLU in the generator
with a tanh output, LeakyReLU(0.2) in the discriminator.

Sizes: the generator starts from a ``base x base`` map and doubles it until it
reaches ``image_size``; ``base`` is what is left after halving ``image_size`` while
it is even and larger than 4 (28 -> 7, 32 -> 4, 64 -> 4).
"""

import keras


def _upsampling_plan(image_size):
    size = int(image_size)
    if size < 8:
        raise ValueError(f"DCGAN image_size must be at least 8, got {image_size}.")
    base, steps = size, 0
    while base % 2 == 0 and base > 4:
        base //= 2
        steps += 1
    if base > 7 or steps < 1:
        raise ValueError(
            f"DCGAN image_size {image_size} is not base * 2^n with base <= 7 "
            "(supported e.g. 28, 32, 48, 56, 64, 128).")
    return base, steps


def _normalization(kind, sync, name):
    if kind == "batch":
        # synchronized=True makes MirroredStrategy training match one device with the
        # global batch: statistics are computed over all replicas' examples.
        return keras.layers.BatchNormalization(synchronized=sync, name=name)
    if kind == "layer":
        return keras.layers.LayerNormalization(name=name)
    if kind == "none":
        return keras.layers.Identity(name=name)
    raise ValueError(f"normalization must be 'batch', 'layer' or 'none', got {kind!r}.")


def dcgan_generator(latent_dim, image_size=64, channels=3, width=64, normalization="batch",
                    sync_batch_norm=True, name="dcgan_generator"):
    """Builds the DCGAN generator ``z -> image`` in [-1, 1].

    Args:
      latent_dim: size of ``z``.
      image_size: output height and width (28, 32, 64, ...).
      channels: output channels (1 for MNIST, 3 for RGB).
      width: filters of the last hidden layer; earlier layers double it.
      normalization: ``"batch"`` (paper), ``"layer"`` or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      name: model name.
    """
    base, steps = _upsampling_plan(image_size)
    z = keras.Input((int(latent_dim),), name="z")
    filters = int(width) * 2 ** (steps - 1)
    x = keras.layers.Dense(base * base * filters, use_bias=False, name="project")(z)
    x = keras.layers.Reshape((base, base, filters))(x)
    x = _normalization(normalization, sync_batch_norm, "norm_project")(x)
    x = keras.layers.ReLU()(x)
    for i in range(steps - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                         name=f"deconv_{i}")(x)
        x = _normalization(normalization, sync_batch_norm, f"norm_{i}")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(int(channels), 4, strides=2, padding="same", name="to_image")(x)
    x = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(z, x, name=name)


def dcgan_discriminator(image_size=64, channels=3, width=64, normalization="batch",
                        sync_batch_norm=True, leaky_relu_slope=0.2, name="dcgan_discriminator"):
    """Builds the DCGAN discriminator ``image -> logit`` (shape ``[batch, 1]``, float32).

    Args:
      image_size: input height and width.
      channels: input channels.
      width: filters of the first layer; each strided layer doubles them.
      normalization: ``"batch"`` (paper), ``"layer"`` (WGAN-GP: the paper says not
        to use BatchNorm in the critic) or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      leaky_relu_slope: LeakyReLU negative slope.
      name: model name.
    """
    _, steps = _upsampling_plan(image_size)
    x_in = keras.Input((int(image_size), int(image_size), int(channels)), name="image")
    x = x_in
    filters = int(width)
    for i in range(steps):
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=(i == 0),
                                name=f"conv_{i}")(x)
        if i > 0:  # no normalization on the input layer (paper, Sec. 3)
            x = _normalization(normalization, sync_batch_norm, f"norm_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=leaky_relu_slope)(x)
        filters *= 2
    x = keras.layers.Flatten()(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(x_in, logit, name=name)
