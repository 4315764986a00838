"""Latent-variable GANs trained with ``model.fit``: vanilla, DCGAN, WGAN, WGAN-GP, LSGAN, hinge.

Papers:
  * Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 — Algorithm 1
    (k discriminator steps per generator step; minimax and the non-saturating
    generator loss of Sec. 3).
  * Radford, Metz, Chintala, "Unsupervised Representation Learning with Deep
    Convolutional GANs", ICLR 2016 (DCGAN).
  * Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017 — Algorithm 1
    (weight clipping after every critic update, n_critic).
  * Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 —
    Algorithm 1 (gradient penalty lambda on random interpolates).
  Their optimizer settings are rows of :mod:`tfgan_pipeline.models.presets`.

:class:`GAN` is also the base of the conditional families (cGAN, ACGAN,
InfoGAN): it writes the adversarial losses once, in terms of five small hooks the
families override —

  * :meth:`GAN.real_slices`: ``(images, condition)`` per discriminator update
    (``condition`` is ``None`` here, class labels for cGAN/ACGAN);
  * :meth:`GAN.sample_condition` / :meth:`GAN.generator_inputs`: what a generated
    sample is conditioned on, and how it enters the generator;
  * :meth:`GAN.discriminate`: the discriminator's heads as a dict with ``"score"``
    (the logit or critic value the adversarial loss reads);
  * :meth:`GAN.discriminator_extras` / :meth:`GAN.generator_extras`: auxiliary
    terms (``"loss"``, added to the player's loss) and reported values.

How the k discriminator updates draw their real data is the template's rule
(:mod:`tfgan_pipeline.models.base`): one dataset batch per generator update, split
into ``d_steps`` slices of near-equal size, each with freshly drawn noise; any
batch of at least ``d_steps`` examples works.
"""

import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models.base import GANBase, batch_size_of, split_batch


class GAN(GANBase):
    """Unconditional GAN: ``GAN(generator, discriminator, latent_dim)``.

    Example:
      ```python
      gan = GAN(networks.dcgan_generator(64, image_size=28, channels=1),
                networks.dcgan_discriminator(image_size=28, channels=1), latent_dim=64)
      models.compile_preset(gan, "dcgan")         # or gan.compile(d_opt, g_opt, loss=...)
      gan.fit(images.batch(64), epochs=5)
      samples = gan.generate(16, seed=0)
      ```

    Metrics: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (the discriminator's
    mean raw output — logit or critic score — on real and on generated data), and
    ``gp`` (the gradient penalty, 0 when unused).
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp")
    default_preset = "gan"

    def __init__(self, generator, discriminator, latent_dim, **kwargs):
        if latent_dim is None:
            raise ValueError(f"{type(self).__name__} needs latent_dim, the size of the noise z.")
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
        if gradient_penalty_weight < 0:
            raise ValueError(
                f"gradient_penalty_weight must be >= 0, got {gradient_penalty_weight}.")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive or None, got {clip_value}.")
        self.loss_name = loss
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.clip_value = None if clip_value is None else float(clip_value)
        super().compile(d_optimizer, g_optimizer, d_steps=d_steps, **kwargs)

    # ------------------------------------------------------------------ hooks
    def real_slices(self, data):
        """``[(images, None), ...]``; labels in a ``(images, labels)`` dataset are ignored."""
        images = data[0] if isinstance(data, (tuple, list)) else data
        return [(s, None) for s in split_batch(images, self.d_steps, type(self).__name__)]

    def sample_condition(self, batch_size):
        """What generated samples are conditioned on (nothing, for an unconditional GAN)."""
        return None

    def discriminate(self, images, condition):
        """The discriminator's heads; ``"score"`` is what the adversarial loss reads."""
        return {"score": tf.cast(self.discriminator(images, training=True), tf.float32)}

    def discriminator_extras(self, real_condition, real_out, fake_condition, fake_out):
        """Auxiliary discriminator terms: ``"loss"`` (added) and reported values."""
        return {}

    def generator_extras(self, fake_condition, fake_out):
        """Auxiliary generator terms: ``"loss"`` (added) and reported values."""
        return {}

    def sample_fakes(self, batch_size):
        """Draws ``(generated samples, their condition)`` (training mode) on this replica."""
        condition = self.sample_condition(batch_size)
        z = self.sample_latent(batch_size)
        return self.generator(self.generator_inputs(z, condition), training=True), condition

    # ----------------------------------------------------------------- losses
    def discriminator_loss(self, real):
        images, condition = real
        fake, fake_condition = self.sample_fakes(tf.shape(images)[0])
        real_out = self.discriminate(images, condition)
        fake_out = self.discriminate(fake, fake_condition)
        extras = dict(self.discriminator_extras(condition, real_out, fake_condition, fake_out))
        loss = self.d_loss_fn(real_out["score"], fake_out["score"]) + extras.pop("loss", 0.0)
        if self.gradient_penalty_weight > 0:
            # The critic as a function of images alone; conditioning inputs are held
            # at the real slice's (labels are not a point of the interpolation).
            def critic(x, training=True):
                return self.discriminate(x, condition)["score"]
            gp = losses_lib.wasserstein_gradient_penalty(critic, tf.cast(images, fake.dtype), fake)
            loss += self.gradient_penalty_weight * gp
        else:
            gp = tf.zeros_like(loss)
        return {"d_loss": loss, "d_real": real_out["score"], "d_fake": fake_out["score"],
                "gp": gp, **extras}

    def generator_loss(self, real):
        fake, fake_condition = self.sample_fakes(batch_size_of(real[0]))
        fake_out = self.discriminate(fake, fake_condition)
        extras = dict(self.generator_extras(fake_condition, fake_out))
        return {"g_loss": self.g_loss_fn(fake_out["score"]) + extras.pop("loss", 0.0), **extras}

    def after_discriminator_update(self):
        """WGAN (Arjovsky et al. Alg. 1, line 7): clip every critic weight to ``[-c, c]``."""
        if self.clip_value is None:
            return
        for w in self.discriminator_variables:
            w.assign(tf.clip_by_value(w, -self.clip_value, self.clip_value))
