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
through one overridable method, :meth:`ConditionalGAN.sample_labels`; the real
batch's labels are used only for the real term. Uniform labels match a
class-balanced dataset such as MNIST.

Objective and options: everything :class:`tfgan_pipeline.models.gan.GAN` offers —
the loss family by name (``losses.get_losses``), ``d_steps`` (each dataset batch,
images and labels alike, is split into ``d_steps`` real slices; see ``gan.py``),
WGAN weight clipping, and the WGAN-GP gradient penalty. The penalty interpolates
real and generated images and evaluates the critic there with the *real* slice's
labels (the labels are a conditioning input, not a point of the interpolation).
Optimizer presets: :func:`compile_cgan` (Adam 2e-4, beta1 0.5 as in DCGAN; the
paper's SGD schedule is not reproduced).

Metrics: ``d_loss``, ``g_loss``, ``d_real``, ``d_fake`` (mean raw discriminator
output on real and generated pairs) and ``gp``.
"""

import keras
import numpy as np
import tensorflow as tf

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


def noise_for_generation(num_samples, latent_dim, seed=None, noise=None, owner="ConditionalGAN"):
    """``z`` for ``generate``: given (``[latent_dim]`` broadcast or ``[N, latent_dim]``) or drawn.

    Drawn noise is ``stateless_normal([N, latent_dim], seed=[seed, 0])`` for an int
    ``seed`` (the same ``z`` as ``GANBase.generate``), fresh ``tf.random`` otherwise.
    """
    if noise is None:
        if seed is None:
            return tf.random.normal([num_samples, latent_dim])
        return tf.random.stateless_normal([num_samples, latent_dim], seed=[int(seed), 0])
    noise = tf.convert_to_tensor(noise, tf.float32)
    if noise.shape == (latent_dim,):
        return tf.tile(noise[None], [num_samples, 1])
    if noise.shape != (num_samples, latent_dim):
        raise ValueError(
            f"{owner}.generate: noise must have shape [{latent_dim}] (shared by every "
            f"sample) or [{num_samples}, {latent_dim}], got {noise.shape}.")
    return noise


def check_num_samples(num_samples):
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}.")
    return num_samples


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
      models.compile_cgan(cgan)
      cgan.fit(data.mnist.mnist_dataset(folder, 64, with_labels=True), epochs=5,
               steps_per_epoch=150)
      sevens = cgan.generate(16, labels=7, seed=0)
      ```
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp")

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

    # ------------------------------------------------------------ randomness
    def sample_labels(self, batch_size):
        """Draws generated samples' labels uniformly from ``0 .. num_classes - 1`` (int32)."""
        return tf.random.uniform([batch_size], 0, self.num_classes, dtype=tf.int32)

    # -------------------------------------------------------------- train step
    def _critic(self, labels):
        """The source score as a function of images alone (for the gradient penalty)."""
        return lambda x, training=True: self.discriminator([x, labels], training=training)

    def _discriminator_step(self, real, labels):
        batch = tf.shape(real)[0]
        z = self.sample_latent(batch)
        fake_labels = self.sample_labels(batch)
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_labels], training=True)
            real_out = tf.cast(self.discriminator([real, labels], training=True), tf.float32)
            fake_out = tf.cast(self.discriminator([fake, fake_labels], training=True),
                               tf.float32)
            per_example, gp = self.add_gradient_penalty(
                self.d_loss_fn(real_out, fake_out), self._critic(labels), real, fake)
            d_loss = self.reduce_loss(per_example)
        self.update_discriminator(tape, d_loss)
        return d_loss, real_out, fake_out, gp

    def _generator_step(self, batch):
        z = self.sample_latent(batch)
        fake_labels = self.sample_labels(batch)
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_labels], training=True)
            fake_out = tf.cast(self.discriminator([fake, fake_labels], training=True),
                               tf.float32)
            g_loss = self.reduce_loss(self.g_loss_fn(fake_out))
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return g_loss

    def _real_slices(self, data):
        """Validated ``[(images, labels), ...]``: one real slice per discriminator step."""
        images, labels = unpack_labelled(data, type(self).__name__)
        labels = check_labels(labels, self.num_classes, images.shape[0], type(self).__name__)
        return list(zip(self._split_for_d_steps(images), self._split_for_d_steps(labels)))

    def train_step(self, data):
        slices = self._real_slices(data)

        # 1. k discriminator updates, each on a fresh real slice, fresh z and labels.
        for images, labels in slices:
            d_loss, real_out, fake_out, gp = self._discriminator_step(images, labels)

        # 2. One generator update on fresh z and labels.
        g_loss = self._generator_step(tf.shape(slices[0][0])[0])

        return self.update_metrics(
            d_loss=d_loss * self.num_replicas(), g_loss=g_loss * self.num_replicas(),
            d_real=tf.reduce_mean(real_out), d_fake=tf.reduce_mean(fake_out),
            gp=tf.reduce_mean(gp))

    # ------------------------------------------------------------------ sampling
    def generate(self, num_samples, labels=None, seed=None, noise=None, batch_size=256):
        """Returns ``num_samples`` generated images (float32) of the requested classes.

        Args:
          num_samples: how many samples.
          labels: ``None`` cycles through the classes (0, 1, ..., num_classes - 1,
            0, ...); an int gives every sample that class; else ``num_samples`` ids.
          seed: an int for reproducible ``z`` (``stateless_normal(seed=[seed, 0])``,
            the same ``z`` as ``GAN.generate``); ``None`` draws fresh noise.
          noise: optional explicit ``z``: ``[latent_dim]`` (shared by every sample,
            e.g. to sweep the label with the style fixed) or
            ``[num_samples, latent_dim]``. Overrides ``seed``.
          batch_size: generator batch size, to bound memory.

        Raises:
          ValueError: for labels of the wrong shape or outside ``[0, num_classes)``.
        """
        num_samples = check_num_samples(num_samples)
        owner = type(self).__name__
        labels = labels_for_generation(num_samples, self.num_classes, labels, owner)
        z = noise_for_generation(num_samples, self.latent_dim, seed, noise, owner)
        return self.generate_from_latent(z, labels, batch_size=batch_size)

    def generate_from_latent(self, z, labels=None, batch_size=256):
        """Runs the generator (inference mode) on given ``z`` and labels, in batches.

        ``labels=None`` cycles through the classes, as in :meth:`generate`.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        n = int(z.shape[0])
        labels = labels_for_generation(n, self.num_classes, labels, type(self).__name__)
        out = [tf.cast(self.generator([z[i:i + batch_size], labels[i:i + batch_size]],
                                      training=False), tf.float32)
               for i in range(0, n, batch_size)]
        return tf.concat(out, axis=0)


# ------------------------------------------------------------------ presets
def adam_pair(d_learning_rate, g_learning_rate, beta_1=0.5, beta_2=0.999):
    """Two Adam optimizers ``(d_optimizer, g_optimizer)``."""
    return (keras.optimizers.Adam(learning_rate=d_learning_rate, beta_1=beta_1, beta_2=beta_2),
            keras.optimizers.Adam(learning_rate=g_learning_rate, beta_1=beta_1, beta_2=beta_2))


def compile_cgan(model, d_learning_rate=2e-4, g_learning_rate=2e-4, beta_1=0.5,
                 **compile_kwargs):
    """Compiles a :class:`ConditionalGAN` with DCGAN's Adam (2e-4, beta1 0.5).

    Args:
      model: the :class:`ConditionalGAN`.
      d_learning_rate, g_learning_rate, beta_1: Adam settings.
      **compile_kwargs: passed to ``compile`` (``loss=`` — default
        ``"non_saturating"`` —, ``d_steps=``, ``steps_per_execution=``, ...).

    Returns:
      ``model``, compiled.
    """
    d_opt, g_opt = adam_pair(d_learning_rate, g_learning_rate, beta_1)
    model.compile(d_opt, g_opt, **compile_kwargs)
    return model
