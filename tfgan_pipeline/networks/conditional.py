"""Class-conditional generators and discriminators, and the ACGAN / InfoGAN heads.

Papers:
  * Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014, Sec. 3.2:
    both networks receive the label ``y``; the generator maps ``(z, y)`` and the
    discriminator scores ``(x, y)``. Their MNIST model concatenates a one-hot ``y``
    with ``z`` (generator) and with ``x`` (discriminator); we do the same, on
    DCGAN or MLP bodies.
  * Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018, Eq. 3: the
    optional ``conditioning="projection"`` discriminator scores
    ``psi(phi(x)) + embed(y) . phi(x)``.
  * Odena, Olah, Shlens, "Conditional Image Synthesis with Auxiliary Classifier
    GANs", ICML 2017, Sec. 3: an unconditional discriminator with two outputs, the
    source logit and class logits.
  * Chen et al., "InfoGAN", NeurIPS 2016, Sec. 5 and appendix C.1: a discriminator
    whose body is shared with the Q network that predicts the latent codes.

How labels enter
----------------
Labels are integer class ids of shape ``[batch]`` (input ``"label"``, int32). They
are one-hot encoded inside the network (``keras.layers.CategoryEncoding``), so:

* generator: ``concat(z, one_hot(y))`` feeds the DCGAN / MLP generator. A dense
  layer on a one-hot vector is a learnt per-class embedding added to the first
  feature map, so no separate embedding layer is needed.
* discriminator, ``conditioning="concat"`` (Mirza & Osindero): ``one_hot(y)`` is
  tiled to ``[H, W, num_classes]`` and concatenated to the image as extra input
  channels (a learnt per-class bias of the first convolution). MLP version:
  concatenated to the flattened input.
* discriminator, ``conditioning="projection"`` (Miyato & Koyama):
  ``logit = dense(phi(x)) + <embedding(y), phi(x)>`` with ``phi`` the DCGAN body.

``CategoryEncoding`` maps an out-of-range id to an all-zero vector without an
error; the training models (``tfgan_pipeline.models.cgan``) validate labels
before calling these networks, with an error saying what is wrong.

The bodies are the builders of :mod:`tfgan_pipeline.networks.dcgan` and
:mod:`tfgan_pipeline.networks.mlp`, nested as sub-models (the DCGAN convolutional
trunk is the DCGAN discriminator up to its ``"logit"`` layer). Every final layer
is float32, so the networks are safe under a ``mixed_float16`` policy.
"""

import keras

from tfgan_pipeline.networks import dcgan, mlp

#: Discriminator label-conditioning schemes of :func:`conditional_dcgan_discriminator`.
CONDITIONINGS = ("projection", "concat")


def check_num_classes(num_classes):
    """Returns ``num_classes`` as an int, or raises ``ValueError`` if it is not >= 2."""
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    return int(num_classes)


def _label_input():
    return keras.Input((), dtype="int32", name="label")


def _one_hot(labels, num_classes, name):
    return keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name=name)(labels)


def _dcgan_trunk(image_size, channels, width, normalization, sync_batch_norm,
                 leaky_relu_slope, name):
    """The DCGAN discriminator's convolutional body ``image -> flat features``."""
    full = dcgan.dcgan_discriminator(image_size=image_size, channels=channels, width=width,
                                     normalization=normalization,
                                     sync_batch_norm=sync_batch_norm,
                                     leaky_relu_slope=leaky_relu_slope, name=name)
    return keras.Model(full.input, full.get_layer("logit").input, name=name)


# --------------------------------------------------------------- conditional GAN
def conditional_dcgan_generator(latent_dim, num_classes, image_size=64, channels=3, width=64,
                                normalization="batch", sync_batch_norm=True,
                                name="conditional_dcgan_generator"):
    """Builds ``[z, label] -> image`` in [-1, 1]: DCGAN on ``concat(z, one_hot(label))``.

    Args:
      latent_dim: size of ``z``.
      num_classes: number of classes (labels are ``0 .. num_classes - 1``).
      image_size: output height and width (28, 32, 64, ...).
      channels: output channels.
      width: filters of the last hidden layer (see :func:`dcgan.dcgan_generator`).
      normalization: ``"batch"`` (paper), ``"layer"`` or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      name: model name.

    Returns:
      ``keras.Model`` with inputs ``[z float [B, latent_dim], label int32 [B]]`` and a
      float32 ``[B, image_size, image_size, channels]`` output.
    """
    num_classes = check_num_classes(num_classes)
    body = dcgan.dcgan_generator(int(latent_dim) + num_classes, image_size=image_size,
                                 channels=channels, width=width, normalization=normalization,
                                 sync_batch_norm=sync_batch_norm, name=f"{name}_body")
    z = keras.Input((int(latent_dim),), name="z")
    label = _label_input()
    h = keras.layers.Concatenate(name="z_and_label")([z, _one_hot(label, num_classes, "one_hot")])
    return keras.Model([z, label], body(h), name=name)


def conditional_dcgan_discriminator(num_classes, image_size=64, channels=3, width=64,
                                    conditioning="projection", normalization="batch",
                                    sync_batch_norm=True, leaky_relu_slope=0.2,
                                    name="conditional_dcgan_discriminator"):
    """Builds ``[image, label] -> logit`` (``[B, 1]``, float32) on the DCGAN body.

    Args:
      num_classes: number of classes.
      image_size: input height and width.
      channels: input channels.
      width: filters of the first layer.
      conditioning: ``"projection"`` (Miyato & Koyama 2018) or ``"concat"`` (one-hot
        label maps as extra input channels, Mirza & Osindero 2014). See the module
        docstring.
      normalization: ``"batch"``, ``"layer"`` (for a WGAN-GP critic) or ``"none"``.
      sync_batch_norm: synchronise BatchNorm statistics across replicas.
      leaky_relu_slope: LeakyReLU negative slope.
      name: model name.
    """
    num_classes = check_num_classes(num_classes)
    if conditioning not in CONDITIONINGS:
        raise ValueError(
            f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}.")
    size = int(image_size)
    image = keras.Input((size, size, int(channels)), name="image")
    label = _label_input()
    one_hot = _one_hot(label, num_classes, "one_hot")
    if conditioning == "concat":
        maps = keras.layers.Reshape((1, 1, num_classes), name="label_pixel")(one_hot)
        maps = keras.layers.UpSampling2D(size=(size, size), name="label_maps")(maps)
        x = keras.layers.Concatenate(name="image_and_label")([image, maps])
        body = dcgan.dcgan_discriminator(
            image_size=size, channels=int(channels) + num_classes, width=width,
            normalization=normalization, sync_batch_norm=sync_batch_norm,
            leaky_relu_slope=leaky_relu_slope, name=f"{name}_body")
        return keras.Model([image, label], body(x), name=name)
    trunk = _dcgan_trunk(size, channels, width, normalization, sync_batch_norm,
                         leaky_relu_slope, f"{name}_trunk")
    features = trunk(image)
    unconditional = keras.layers.Dense(1, dtype="float32", name="unconditional_logit")(features)
    # The class embedding has the feature width; <embed(y), phi(x)> is its projection.
    embedded = keras.layers.Dense(int(features.shape[-1]), use_bias=False, dtype="float32",
                                  name="label_embedding")(one_hot)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")(
        [embedded, features])
    logit = keras.layers.Add(dtype="float32", name="logit")([unconditional, projection])
    return keras.Model([image, label], logit, name=name)


def conditional_mlp_generator(latent_dim, num_classes, output_shape, hidden_units=(128, 128),
                              output_activation=None, name="conditional_mlp_generator"):
    """Builds ``[z, label] -> x``: the MLP generator on ``concat(z, one_hot(label))``.

    Args:
      latent_dim: size of ``z``.
      num_classes: number of classes.
      output_shape: shape of one sample, e.g. ``(2,)`` or ``(28, 28, 1)``.
      hidden_units: widths of the ReLU hidden layers.
      output_activation: ``None`` (linear) or ``"tanh"`` (images in [-1, 1]).
      name: model name.
    """
    num_classes = check_num_classes(num_classes)
    body = mlp.mlp_generator(int(latent_dim) + num_classes, output_shape,
                             hidden_units=hidden_units, output_activation=output_activation,
                             name=f"{name}_body")
    z = keras.Input((int(latent_dim),), name="z")
    label = _label_input()
    h = keras.layers.Concatenate(name="z_and_label")([z, _one_hot(label, num_classes, "one_hot")])
    return keras.Model([z, label], body(h), name=name)


def conditional_mlp_discriminator(input_shape, num_classes, hidden_units=(128, 128),
                                  leaky_relu_slope=0.2, name="conditional_mlp_discriminator"):
    """Builds ``[x, label] -> logit`` (``[B, 1]``, float32) on ``concat(flat(x), one_hot(label))``.

    Args:
      input_shape: shape of one sample.
      num_classes: number of classes.
      hidden_units: widths of the LeakyReLU hidden layers.
      leaky_relu_slope: negative slope.
      name: model name.
    """
    num_classes = check_num_classes(num_classes)
    input_shape = tuple(int(d) for d in input_shape)
    x_in = keras.Input(input_shape, name="x")
    label = _label_input()
    flat = keras.layers.Flatten(name="flatten")(x_in) if len(input_shape) > 1 else x_in
    h = keras.layers.Concatenate(name="x_and_label")(
        [flat, _one_hot(label, num_classes, "one_hot")])
    body = mlp.mlp_discriminator((int(h.shape[-1]),), hidden_units=hidden_units,
                                 leaky_relu_slope=leaky_relu_slope, name=f"{name}_body")
    return keras.Model([x_in, label], body(h), name=name)


# ------------------------------------------------------------------------ ACGAN
def acgan_discriminator(num_classes, image_size=64, channels=3, width=64,
                        normalization="batch", sync_batch_norm=True, leaky_relu_slope=0.2,
                        name="acgan_discriminator"):
    """Builds ``image -> [source_logit [B, 1], class_logits [B, num_classes]]`` (float32).

    The DCGAN body with two linear heads (Odena et al. 2017, Sec. 3): the source
    (real / fake) logit and the auxiliary classifier's logits.

    Args:
      num_classes: number of classes.
      image_size, channels, width, normalization, sync_batch_norm, leaky_relu_slope:
        as :func:`dcgan.dcgan_discriminator`.
      name: model name.
    """
    num_classes = check_num_classes(num_classes)
    trunk = _dcgan_trunk(image_size, channels, width, normalization, sync_batch_norm,
                         leaky_relu_slope, f"{name}_trunk")
    image = keras.Input(trunk.input_shape[1:], name="image")
    features = trunk(image)
    source = keras.layers.Dense(1, dtype="float32", name="source_logit")(features)
    classes = keras.layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
    return keras.Model(image, [source, classes], name=name)


# ----------------------------------------------------------------------- InfoGAN
def check_code_dims(categorical_dims, continuous_dim):
    """Validates InfoGAN code sizes; returns ``(tuple of ints, int)``.

    Raises:
      ValueError: for a category count below 2, a negative continuous size, or no
        code at all.
    """
    if isinstance(categorical_dims, int):
        categorical_dims = (categorical_dims,)
    categorical_dims = tuple(categorical_dims)
    for d in categorical_dims:
        if isinstance(d, bool) or int(d) != d or d < 2:
            raise ValueError(
                "categorical_dims must be category counts >= 2 (one per categorical code), "
                f"got {categorical_dims!r}.")
    if isinstance(continuous_dim, bool) or int(continuous_dim) != continuous_dim or \
            continuous_dim < 0:
        raise ValueError(f"continuous_dim must be an integer >= 0, got {continuous_dim!r}.")
    if not categorical_dims and not continuous_dim:
        raise ValueError("InfoGAN needs at least one latent code: give categorical_dims "
                         "and/or continuous_dim > 0.")
    return tuple(int(d) for d in categorical_dims), int(continuous_dim)


def infogan_generator(noise_dim, categorical_dims=(10,), continuous_dim=2, image_size=28,
                      channels=1, width=64, normalization="batch", sync_batch_norm=True,
                      name="infogan_generator"):
    """The DCGAN generator on ``concat(z, one_hot(c_1), ..., c_continuous)``.

    InfoGAN's generator takes noise and codes as one vector (Chen et al. 2016,
    Sec. 5); its input size is ``noise_dim + sum(categorical_dims) + continuous_dim``
    (74 for the MNIST model of appendix C.1: 62 + 10 + 2).

    Args:
      noise_dim: size of the incompressible noise ``z``.
      categorical_dims: number of categories of each categorical code.
      continuous_dim: number of continuous codes.
      image_size, channels, width, normalization, sync_batch_norm, name: as
        :func:`dcgan.dcgan_generator`.
    """
    categorical_dims, continuous_dim = check_code_dims(categorical_dims, continuous_dim)
    size = int(noise_dim) + sum(categorical_dims) + continuous_dim
    return dcgan.dcgan_generator(size, image_size=image_size, channels=channels, width=width,
                                 normalization=normalization, sync_batch_norm=sync_batch_norm,
                                 name=name)


def infogan_discriminator(categorical_dims=(10,), continuous_dim=2, image_size=28, channels=1,
                          width=64, hidden_units=1024, q_hidden_units=128,
                          learn_continuous_std=False, normalization="batch",
                          sync_batch_norm=True, leaky_relu_slope=0.1,
                          name="infogan_discriminator"):
    """Builds the InfoGAN discriminator and Q network: one body, several heads.

    Appendix C.1 (MNIST): conv 64, conv 128 + BN, FC 1024 + BN (shared); D: FC 1;
    Q: FC 128 + BN, then the code outputs. LeakyReLU slope 0.1 as in the paper.

    Args:
      categorical_dims: number of categories of each categorical code.
      continuous_dim: number of continuous codes.
      image_size, channels, width, normalization, sync_batch_norm: the DCGAN body.
      hidden_units: width of the shared fully connected layer (``None`` or 0: none).
      q_hidden_units: width of Q's hidden layer (``None`` or 0: none).
      learn_continuous_std: also output ``log sigma`` of each continuous code
        (a factored Gaussian posterior); otherwise Q has a fixed unit std.
      leaky_relu_slope: LeakyReLU negative slope.
      name: model name.

    Returns:
      ``keras.Model`` ``image -> dict`` of float32 tensors: ``"logit"`` ``[B, 1]``;
      ``"categorical"`` ``[B, sum(categorical_dims)]`` (the logits of every
      categorical code, concatenated in order) when there are categorical codes;
      ``"continuous"`` ``[B, continuous_dim]`` (means) and, with
      ``learn_continuous_std``, ``"continuous_log_std"``, when ``continuous_dim > 0``.
    """
    categorical_dims, continuous_dim = check_code_dims(categorical_dims, continuous_dim)
    trunk = _dcgan_trunk(image_size, channels, width, normalization, sync_batch_norm,
                         leaky_relu_slope, f"{name}_trunk")
    image = keras.Input(trunk.input_shape[1:], name="image")
    shared = trunk(image)

    def dense_block(x, units, prefix):
        x = keras.layers.Dense(units, use_bias=False, name=f"{prefix}_dense")(x)
        x = dcgan._normalization(normalization, sync_batch_norm, f"{prefix}_norm")(x)
        return keras.layers.LeakyReLU(negative_slope=leaky_relu_slope, name=f"{prefix}_act")(x)

    if hidden_units:
        shared = dense_block(shared, int(hidden_units), "shared")
    outputs = {"logit": keras.layers.Dense(1, dtype="float32", name="logit")(shared)}
    q = dense_block(shared, int(q_hidden_units), "q") if q_hidden_units else shared
    if categorical_dims:
        outputs["categorical"] = keras.layers.Dense(
            sum(categorical_dims), dtype="float32", name="categorical")(q)
    if continuous_dim:
        outputs["continuous"] = keras.layers.Dense(
            continuous_dim, dtype="float32", name="continuous")(q)
        if learn_continuous_std:
            outputs["continuous_log_std"] = keras.layers.Dense(
                continuous_dim, dtype="float32", name="continuous_log_std")(q)
    return keras.Model(image, outputs, name=name)
