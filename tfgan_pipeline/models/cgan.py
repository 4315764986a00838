"""Conditional GAN: generator and discriminator both see the class label.

Paper: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014, Sec. 3.2
(Eq. 2): ``min_G max_D E[log D(x|y)] + E[log(1 - D(G(z|y)|y))]``. The networks take
the label as a second input (``generator([z, labels])``,
``discriminator([images, labels])``); :mod:`tfgan_pipeline.networks.conditional`
builds them (one-hot label concatenation, or a projection discriminator).

Data: ``fit`` takes a dataset of ``(images, labels)`` batches, ``labels`` integer
class ids of shape ``[batch]`` (``[batch, 1]`` is accepted) in
``0 .. num_classes - 1``. Wrong dtypes, one-hot labels and batch mismatches raise
when the step is traced; out-of-range ids fail the step with an error naming the
valid range (the networks' one-hot layer would otherwise map them to zeros).

Fake labels: every discriminator and generator step draws the generated samples'
labels uniformly from ``0 .. num_classes - 1`` with ``tf.random`` (per replica),
through the template's hook :meth:`ConditionalGAN.sample_condition`; the real
batch's labels are used only for the real term. Uniform labels match a
class-balanced dataset such as MNIST.

Objective and options: everything :class:`tfgan_pipeline.models.gan.GAN` offers —
the loss family by name (``losses.get_losses``), ``d_steps`` (each dataset batch,
images and labels alike, is split into ``d_steps`` real slices; see ``gan.py``),
WGAN weight clipping, and the WGAN-GP gradient penalty. The penalty interpolates
real and generated images and evaluates the critic there with the *real* slice's
labels (the labels are a conditioning input, not a point of the interpolation).
Optimizer preset: the ``"cgan"`` row of :mod:`tfgan_pipeline.models.presets`.

This file overrides only what differs from :class:`GAN`: the labelled real
slices, the fake labels, the generator and discriminator inputs, and
``generate(..., labels=)``.

Metrics: ``d_loss``, ``g_loss``, ``d_real``, ``d_fake`` (mean raw discriminator
output on real and generated pairs) and ``gp``.
"""

import numpy as np
import tensorflow as tf

from tfgan_pipeline.models.base import split_batch
from tfgan_pipeline.models.gan import GAN
from tfgan_pipeline.networks.conditional import check_num_classes


def check_labels(labels, num_classes, batch_size=None, owner="ConditionalGAN"):
    """Validates class-id labels and returns them as int32 ``[batch]``.

    Shape and dtype are checked when the step is traced (``TypeError`` /
    ``ValueError``). The range ``[0, num_classes)`` is checked eagerly when the
    values are at hand (``ValueError``), otherwise by graph assertions that fail the
    step with ``tf.errors.InvalidArgumentError`` carrying the same message.

    Args:
      labels: integer tensor ``[batch]`` or ``[batch, 1]``.
      num_classes: number of classes.
      batch_size: the images' static batch size, if known, to check the pairing.
      owner: name used in messages.
    """
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise TypeError(
            f"{owner}: labels must be integer class ids in [0, {num_classes}), got dtype "
            f"{labels.dtype.name}. Cast them (tf.cast(labels, tf.int32)); for one-hot "
            "labels pass tf.argmax(labels, axis=-1).")
    rank = labels.shape.rank
    if rank == 2 and labels.shape[1] == 1:
        labels = tf.reshape(labels, [-1])
    elif rank != 1:
        raise ValueError(
            f"{owner}: labels must have shape [batch] (integer class ids), got shape "
            f"{labels.shape}. For one-hot labels pass tf.argmax(labels, axis=-1).")
    if batch_size is not None and labels.shape[0] is not None and labels.shape[0] != batch_size:
        raise ValueError(
            f"{owner}: got {labels.shape[0]} labels for a batch of {batch_size} images; "
            "each image needs exactly one label.")
    message = (f"{owner}: labels must be class ids in [0, {num_classes}) (num_classes="
               f"{num_classes}); found a label outside that range.")
    if tf.executing_eagerly():
        values = labels.numpy()
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{message[:-1]}: min {values.min()}, max {values.max()}.")
        return tf.cast(labels, tf.int32)
    with tf.control_dependencies([
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype),
                                     message=message)]):
        return tf.cast(tf.identity(labels), tf.int32)


def labels_for_generation(num_samples, num_classes, labels=None, owner="ConditionalGAN"):
    """Labels for ``generate``: ``None`` cycles 0, 1, ..., an int repeats, else ``[N]`` ids."""
    if labels is None:
        values = np.arange(num_samples) % num_classes
    elif np.ndim(labels) == 0:
        values = np.full([num_samples], labels)
    else:
        values = np.asarray(labels)
        if values.shape != (num_samples,):
            raise ValueError(
                f"{owner}.generate: labels must be None, one int, or {num_samples} ids "
                f"(shape [{num_samples}]); got shape {values.shape}.")
    return check_labels(tf.constant(values), num_classes, num_samples, owner=f"{owner}.generate")


def unpack_labelled(data, owner):
    """``(images, labels)`` from a ``train_step`` argument, or a ``ValueError`` saying why not."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = (f"a {len(data)}-tuple" if isinstance(data, (tuple, list))
               else f"a single {type(data).__name__}")
        raise ValueError(
            f"{owner}.fit needs a dataset of (images, labels) batches, got {got}. Use e.g. "
            "data.mnist.mnist_dataset(..., with_labels=True) or "
            "tf.data.Dataset.from_tensor_slices((images, labels)).batch(b).")
    return data[0], data[1]


def network_inputs(model):
    """Number of inputs of a functional model, ``None`` when unknown (subclassed)."""
    inputs = getattr(model, "inputs", None)
    return None if inputs is None else len(inputs)



class ConditionalGAN(GAN):
    """Class-conditional GAN: ``ConditionalGAN(generator, discriminator, latent_dim, num_classes)``.

    Args:
      generator: ``keras.Model`` ``[z [B, latent_dim], labels int [B]] -> images``.
      discriminator: ``keras.Model`` ``[images, labels] -> logits`` (``[B]``, ``[B, 1]``
        or a patch map).
      latent_dim: size of ``z``.
      num_classes: number of classes; labels are ``0 .. num_classes - 1``.
      **kwargs: passed to ``keras.Model``.

    Example:
      ```python
      from tfgan_pipeline import data, models, networks
      cgan = models.ConditionalGAN(
          networks.conditional_dcgan_generator(64, 10, image_size=28, channels=1),
          networks.conditional_dcgan_discriminator(10, image_size=28, channels=1),
          latent_dim=64, num_classes=10)
      models.compile_preset(cgan)                  # the "cgan" row
      cgan.fit(data.mnist.mnist_dataset(folder, 64, with_labels=True), epochs=5,
               steps_per_epoch=150)
      sevens = cgan.generate(16, labels=7, seed=0)
      ```
    """

    conditioning = ("labels",)
    default_preset = "cgan"

    #: Inputs the discriminator takes: ``[images, labels]``.
    _discriminator_inputs = 2

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        self.num_classes = check_num_classes(num_classes)
        owner = type(self).__name__
        if network_inputs(generator) not in (None, 2):
            raise ValueError(
                f"{owner}'s generator must take two inputs [z, labels]; this one takes "
                f"{network_inputs(generator)}. Build it with "
                "networks.conditional_dcgan_generator or conditional_mlp_generator.")
        if network_inputs(discriminator) not in (None, self._discriminator_inputs):
            raise ValueError(
                f"{owner}'s discriminator must take {self._discriminator_inputs} input(s) "
                f"({'[images, labels]' if self._discriminator_inputs == 2 else 'images'}); "
                f"this one takes {network_inputs(discriminator)}. "
                + ("Build it with networks.conditional_dcgan_discriminator."
                   if self._discriminator_inputs == 2
                   else "Build it with networks.acgan_discriminator."))

    # ------------------------------------------------------------------ hooks
    def real_slices(self, data):
        """Validated ``[(images, labels), ...]``: one real slice per discriminator update."""
        owner = type(self).__name__
        images, labels = unpack_labelled(data, owner)
        labels = check_labels(labels, self.num_classes, images.shape[0], owner)
        return split_batch((images, labels), self.d_steps, owner)

    def sample_condition(self, batch_size):
        """Generated samples' labels, uniform over ``0 .. num_classes - 1`` (int32)."""
        return tf.random.uniform([batch_size], 0, self.num_classes, dtype=tf.int32)

    def generator_inputs(self, z, condition):
        return [z, condition]

    def discriminate(self, images, condition):
        return {"score": tf.cast(self.discriminator([images, condition], training=True),
                                 tf.float32)}

    def condition_for_generation(self, num_samples, seed=None, labels=None):
        """``labels=None`` cycles 0, 1, ..., an int repeats, else ``num_samples`` ids."""
        return labels_for_generation(num_samples, self.num_classes, labels, type(self).__name__)
