"""Auxiliary Classifier GAN (AC-GAN).

Paper: Odena, Olah, Shlens, "Conditional Image Synthesis with Auxiliary Classifier
GANs", ICML 2017, Sec. 3. Every generated sample has a class ``c ~ p_c`` besides
its noise, ``X_fake = G(c, z)``; the discriminator sees only the image and outputs
a source probability and a class distribution, ``P(S | X), P(C | X) = D(X)``.
With the log-likelihoods of the correct source and class,

  ``L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]``,
  ``L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]``,

D maximises ``L_S + L_C`` and G maximises ``L_C - L_S``. Here, with per-example
losses to minimise and ``w = class_loss_weight``:

  * D: ``d_adv(real, fake) + w * (CE(c_real, D_C(x_real)) + CE(c_fake, D_C(x_fake)))``;
    ``fake_class_loss=False`` drops the fake term (a common variant that keeps D's
    classifier off poor early samples);
  * G: ``g_adv(fake) + w * CE(c_fake, D_C(G(z, c_fake)))``;

where ``d_adv`` / ``g_adv`` are the named loss family (``"non_saturating"`` by
default, i.e. G minimises ``-log D_S(G(z))`` rather than maximising ``-L_S``, the
usual non-saturating form) and ``CE`` is :func:`tfgan_pipeline.losses.auxiliary_class_loss`.
Generated labels are drawn uniformly (:meth:`ConditionalGAN.sample_condition`);
datasets yield ``(images, labels)`` as for :class:`ConditionalGAN`, with the same
label checks, ``d_steps`` slicing, weight clipping and gradient penalty (on the
source output). Optimizer preset: the ``"acgan"`` row of
:mod:`tfgan_pipeline.models.presets` (Adam 2e-4, beta1 0.5, the paper's appendix).

This file overrides only what differs from :class:`ConditionalGAN`: the
discriminator's two heads and the class terms of both players.

Networks: a conditional generator ``[z, labels] -> images``
(``networks.conditional_dcgan_generator``) and a discriminator
``images -> [source_logit, class_logits]`` (``networks.acgan_discriminator``).

Metrics: ``d_loss``, ``g_loss``, ``d_real``, ``d_fake`` (mean source logits),
``gp``, ``d_class_loss`` (D's unweighted class loss: real plus, if used, fake
term), ``g_class_loss`` (CE of the requested labels on generated samples, G step),
``real_accuracy`` (aux classifier accuracy on the real batch) and ``fake_accuracy``
(its accuracy on the generator's requested labels, G step).
"""

import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models.cgan import ConditionalGAN


def class_hits(labels, class_logits):
    """1.0 where ``argmax(class_logits) == labels``, else 0.0: shape ``[batch]``."""
    predicted = tf.argmax(class_logits, axis=-1, output_type=tf.int32)
    return tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32)


class ACGAN(ConditionalGAN):
    """AC-GAN: ``ACGAN(generator, discriminator, latent_dim, num_classes)``.

    Args:
      generator: ``keras.Model`` ``[z, labels] -> images``.
      discriminator: ``keras.Model`` ``images -> [source_logit, class_logits]``.
      latent_dim: size of ``z``.
      num_classes: number of classes.
      **kwargs: passed to ``keras.Model``.
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp", "d_class_loss",
                    "g_class_loss", "real_accuracy", "fake_accuracy")
    default_preset = "acgan"

    _discriminator_inputs = 1

    def compile(self, d_optimizer, g_optimizer, class_loss_weight=1.0, fake_class_loss=True,
                **kwargs):
        """Configures optimizers, the source loss and the class loss.

        Args:
          d_optimizer, g_optimizer: as :meth:`GAN.compile`.
          class_loss_weight: ``w``, weight of the class cross-entropy for both players
            (paper: 1).
          fake_class_loss: include D's class loss on generated samples (paper: yes).
          **kwargs: :meth:`GAN.compile` options (``loss``, ``d_steps``,
            ``gradient_penalty_weight``, ``clip_value``: they act on the source
            output) and :meth:`GANBase.compile` ones.
        """
        if class_loss_weight < 0:
            raise ValueError(f"class_loss_weight must be >= 0, got {class_loss_weight}.")
        self.class_loss_weight = float(class_loss_weight)
        self.fake_class_loss = bool(fake_class_loss)
        super().compile(d_optimizer, g_optimizer, **kwargs)

    # ------------------------------------------------------------------ hooks
    def discriminate(self, images, condition):
        outputs = self.discriminator(images, training=True)
        if not isinstance(outputs, (tuple, list)) or len(outputs) != 2:
            raise ValueError(
                "ACGAN's discriminator must return [source_logit, class_logits]; got "
                f"{type(outputs).__name__}. Build it with networks.acgan_discriminator.")
        source, classes = outputs
        if classes.shape.rank != 2 or (classes.shape[-1] is not None and
                                       classes.shape[-1] != self.num_classes):
            raise ValueError(
                f"ACGAN's class logits must have shape [batch, num_classes={self.num_classes}],"
                f" got {classes.shape}.")
        return {"score": tf.cast(source, tf.float32), "classes": tf.cast(classes, tf.float32)}

    def discriminator_extras(self, real_condition, real_out, fake_condition, fake_out):
        class_loss = losses_lib.auxiliary_class_loss(real_condition, real_out["classes"])
        if self.fake_class_loss:
            class_loss += losses_lib.auxiliary_class_loss(fake_condition, fake_out["classes"])
        return {"loss": self.class_loss_weight * class_loss, "d_class_loss": class_loss,
                "real_accuracy": class_hits(real_condition, real_out["classes"])}

    def generator_extras(self, fake_condition, fake_out):
        class_loss = losses_lib.auxiliary_class_loss(fake_condition, fake_out["classes"])
        return {"loss": self.class_loss_weight * class_loss, "g_class_loss": class_loss,
                "fake_accuracy": class_hits(fake_condition, fake_out["classes"])}
