"""Unconditional GAN trained with ``model.fit``: vanilla, DCGAN, WGAN, WGAN-GP, LSGAN, hinge.

Papers:
  * Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 — Algorithm 1
    (k discriminator steps per generator step; minimax and the non-saturating
    generator loss of Sec. 3).
  * Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
    Convolutional GANs", ICLR 2016 (DCGAN: Adam lr 2e-4, beta1 0.5).
  * Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017 — Algorithm 1
    (RMSProp 5e-5, weight clipping c = 0.01, n_critic = 5).
  * Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 —
    Algorithm 1 (lambda = 10, n_critic = 5, Adam 1e-4, beta1 0.5, beta2 0.9 as
    in their reference code; the paper's Alg. 1 lists beta1 = 0).

How the ``d_steps`` (k) discriminator updates draw their real data
-------------------------------------------------------------------
``fit`` consumes **one dataset batch per generator update**. That batch is split
into ``d_steps`` equal, disjoint slices and discriminator step ``i`` trains on
slice ``i`` with freshly drawn noise, so every discriminator step sees a fresh
minibatch of real data, as in Algorithm 1. The generator step then uses a fresh
noise batch of the same slice size. To give each discriminator step ``m`` real
examples, batch the dataset with ``m * d_steps`` (``pipelines/gan.py`` does this
for you). The batch size must be divisible by ``d_steps``; if it is not, the step
fails with an error saying so.
"""

import keras
import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models.base import GANBase


class GAN(GANBase):
    """Unconditional GAN: ``GAN(generator, discriminator, latent_dim)``.

    Example:
      ```python
      gan = GAN(networks.dcgan_generator(64, image_size=28, channels=1),
                networks.dcgan_discriminator(image_size=28, channels=1), latent_dim=64)
      gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5),
                  keras.optimizers.Adam(2e-4, beta_1=0.5), loss="non_saturating")
      gan.fit(images.batch(64), epochs=5)
      samples = gan.generate(16, seed=0)
      ```

    Metrics: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (the discriminator's
    mean raw output — logit or critic score — on real and on generated data), and
    ``gp`` (the gradient penalty, 0 when unused).
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp")

    def __init__(self, generator, discriminator, latent_dim, **kwargs):
        if latent_dim is None:
            raise ValueError("GAN needs latent_dim, the size of the noise vector z.")
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", d_steps=1,
                gradient_penalty_weight=0.0, clip_value=None, **kwargs):
        """Configures optimizers and the GAN objective.

        Args:
          d_optimizer: discriminator (critic) optimizer.
          g_optimizer: generator optimizer.
          loss: ``"minimax"``, ``"non_saturating"``, ``"wasserstein"``,
            ``"least_squares"`` or ``"hinge"`` (see :mod:`tfgan_pipeline.losses`).
          d_steps: k, discriminator updates per generator update (>= 1).
          gradient_penalty_weight: lambda of the WGAN-GP penalty (0 disables it).
          clip_value: if set, every discriminator weight is clipped to
            ``[-clip_value, clip_value]`` after each discriminator update (WGAN).
          **kwargs: see :meth:`GANBase.compile`.
        """
        self.d_loss_fn, self.g_loss_fn = losses_lib.get_losses(loss)
        if int(d_steps) != d_steps or d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1, got {d_steps!r}.")
        if gradient_penalty_weight < 0:
            raise ValueError(
                f"gradient_penalty_weight must be >= 0, got {gradient_penalty_weight}.")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive or None, got {clip_value}.")
        self.loss_name = loss
        self.d_steps = int(d_steps)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.clip_value = None if clip_value is None else float(clip_value)
        super().compile(d_optimizer, g_optimizer, **kwargs)

    # -------------------------------------------------------------- train step
    def _discriminator_step(self, real):
        batch = tf.shape(real)[0]
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_out = tf.cast(self.discriminator(real, training=True), tf.float32)
            fake_out = tf.cast(self.discriminator(fake, training=True), tf.float32)
            per_example, gp = self.add_gradient_penalty(
                self.d_loss_fn(real_out, fake_out), self.discriminator, real, fake)
            d_loss = self.reduce_loss(per_example)
        self.update_discriminator(tape, d_loss)
        return d_loss, real_out, fake_out, gp

    def add_gradient_penalty(self, per_example, critic, real, fake):
        """Adds ``lambda * GP`` to a per-example critic loss (call inside the tape).

        Returns:
          ``(per_example_loss, gp)``; ``gp`` is zeros when the penalty is off.
        """
        if self.gradient_penalty_weight <= 0:
            return per_example, tf.zeros_like(per_example)
        gp = losses_lib.wasserstein_gradient_penalty(critic, tf.cast(real, fake.dtype), fake)
        return per_example + self.gradient_penalty_weight * gp, gp

    def update_discriminator(self, tape, d_loss):
        """Applies the discriminator step, then clips its weights if ``clip_value`` (WGAN)."""
        self.apply_gradients(self.d_optimizer, tape, d_loss,
                             self.discriminator.trainable_variables)
        if self.clip_value is not None:
            for w in self.discriminator.trainable_variables:
                w.assign(tf.clip_by_value(w, -self.clip_value, self.clip_value))

    def _generator_step(self, batch):
        z = self.sample_latent(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            fake_out = tf.cast(self.discriminator(fake, training=True), tf.float32)
            g_loss = self.reduce_loss(self.g_loss_fn(fake_out))
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return g_loss

    def _split_for_d_steps(self, real):
        """Splits one dataset batch into ``d_steps`` disjoint real minibatches."""
        if self.d_steps == 1:
            return [real]
        message = (f"GAN.fit: each dataset batch is split into d_steps={self.d_steps} "
                   "slices (one fresh real minibatch per discriminator step), so the batch "
                   "size must be divisible by d_steps; got a batch of {}. Batch the dataset "
                   "with m * d_steps and drop_remainder=True.")
        static = real.shape[0]
        if static is not None:
            if static % self.d_steps:
                raise ValueError(message.format(static))
        else:
            tf.debugging.assert_equal(tf.shape(real)[0] % self.d_steps, 0,
                                      message=message.format("another size"))
        return tf.split(real, self.d_steps, axis=0)

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        slices = self._split_for_d_steps(real)

        # 1. k discriminator (critic) updates, each on a fresh real slice and fresh z.
        for real_slice in slices:
            d_loss, real_out, fake_out, gp = self._discriminator_step(real_slice)

        # 2. One generator update on fresh z.
        g_loss = self._generator_step(tf.shape(slices[0])[0])

        return self.update_metrics(
            d_loss=d_loss * self.num_replicas(), g_loss=g_loss * self.num_replicas(),
            d_real=tf.reduce_mean(real_out), d_fake=tf.reduce_mean(fake_out),
            gp=tf.reduce_mean(gp))


# ------------------------------------------------------------------ presets
def _adam(lr, beta_1, beta_2=0.999):
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def _rmsprop(lr):
    return keras.optimizers.RMSprop(learning_rate=lr)


#: Paper hyper-parameters: name -> (compile kwargs without optimizers, optimizer factory).
PRESETS = {
    # Goodfellow et al. 2014 used SGD+momentum; Adam as in DCGAN is the modern default.
    "gan": dict(loss="non_saturating", d_steps=1, optimizer=lambda: _adam(2e-4, 0.5)),
    "dcgan": dict(loss="non_saturating", d_steps=1, optimizer=lambda: _adam(2e-4, 0.5)),
    "wgan": dict(loss="wasserstein", d_steps=5, clip_value=0.01,
                 optimizer=lambda: _rmsprop(5e-5)),
    "wgan_gp": dict(loss="wasserstein", d_steps=5, gradient_penalty_weight=10.0,
                    optimizer=lambda: _adam(1e-4, 0.5, 0.9)),
}


def compile_preset(gan, preset, **overrides):
    """Compiles ``gan`` with a paper's optimizers and objective.

    Args:
      gan: a :class:`GAN`.
      preset: ``"gan"``, ``"dcgan"``, ``"wgan"`` or ``"wgan_gp"``.
      **overrides: compile arguments that replace the preset's (e.g. ``loss=``,
        ``d_steps=``, ``steps_per_execution=``).

    Returns:
      ``gan``, compiled.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    kwargs = dict(PRESETS[preset])
    make_opt = kwargs.pop("optimizer")
    kwargs.update(overrides)
    gan.compile(d_optimizer=make_opt(), g_optimizer=make_opt(), **kwargs)
    return gan
