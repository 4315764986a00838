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
usual non-saturating form) and ``CE`` is the softmax cross-entropy. Generated
labels are drawn uniformly (:meth:`ConditionalGAN.sample_labels`); datasets yield
``(images, labels)`` as for :class:`ConditionalGAN`, with the same label checks,
``d_steps`` slicing, weight clipping and gradient penalty (on the source output).
Optimizer preset :func:`compile_acgan`: Adam 2e-4, beta1 0.5 (the paper's
appendix).

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

from tfgan_pipeline.models.cgan import ConditionalGAN, adam_pair


def auxiliary_class_loss(labels, class_logits):
    """Per-example softmax cross-entropy ``-log P(C = label | X)``, shape ``[batch]``.

    Args:
      labels: integer class ids ``[batch]``.
      class_logits: ``[batch, num_classes]`` logits.
    """
    class_logits = tf.cast(class_logits, tf.float32)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=class_logits)


def class_accuracy(labels, class_logits):
    """Fraction of ``argmax(class_logits) == labels`` (a scalar on this replica)."""
    predicted = tf.argmax(class_logits, axis=-1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32))


def _split_outputs(outputs, num_classes):
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 2:
        raise ValueError(
            "ACGAN's discriminator must return [source_logit, class_logits]; got "
            f"{type(outputs).__name__}. Build it with networks.acgan_discriminator.")
    source, classes = outputs
    if classes.shape.rank != 2 or (classes.shape[-1] is not None and
                                   classes.shape[-1] != num_classes):
        raise ValueError(
            f"ACGAN's class logits must have shape [batch, num_classes={num_classes}], "
            f"got {classes.shape}.")
    return tf.cast(source, tf.float32), tf.cast(classes, tf.float32)


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

    _discriminator_inputs = 1

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", d_steps=1,
                gradient_penalty_weight=0.0, clip_value=None, class_loss_weight=1.0,
                fake_class_loss=True, **kwargs):
        """Configures optimizers, the source loss and the class loss.

        Args:
          d_optimizer, g_optimizer, loss, d_steps, gradient_penalty_weight, clip_value:
            as :meth:`GAN.compile` (the loss, penalty and clipping act on the source
            output).
          class_loss_weight: ``w``, weight of the class cross-entropy for both players
            (paper: 1).
          fake_class_loss: include D's class loss on generated samples (paper: yes).
          **kwargs: see :meth:`GANBase.compile`.
        """
        if class_loss_weight < 0:
            raise ValueError(f"class_loss_weight must be >= 0, got {class_loss_weight}.")
        self.class_loss_weight = float(class_loss_weight)
        self.fake_class_loss = bool(fake_class_loss)
        super().compile(d_optimizer, g_optimizer, loss=loss, d_steps=d_steps,
                        gradient_penalty_weight=gradient_penalty_weight,
                        clip_value=clip_value, **kwargs)

    def _discriminate(self, images):
        return _split_outputs(self.discriminator(images, training=True), self.num_classes)

    def _critic(self, labels):
        return lambda x, training=True: self.discriminator(x, training=training)[0]

    def _discriminator_step(self, real, labels):
        batch = tf.shape(real)[0]
        z = self.sample_latent(batch)
        fake_labels = self.sample_labels(batch)
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_labels], training=True)
            real_src, real_cls = self._discriminate(real)
            fake_src, fake_cls = self._discriminate(fake)
            class_loss = auxiliary_class_loss(labels, real_cls)
            if self.fake_class_loss:
                class_loss += auxiliary_class_loss(fake_labels, fake_cls)
            per_example, gp = self.add_gradient_penalty(
                self.d_loss_fn(real_src, fake_src) + self.class_loss_weight * class_loss,
                self._critic(labels), real, fake)
            d_loss = self.reduce_loss(per_example)
        self.update_discriminator(tape, d_loss)
        return dict(d_loss=d_loss, d_real=tf.reduce_mean(real_src),
                    d_fake=tf.reduce_mean(fake_src), gp=tf.reduce_mean(gp),
                    d_class_loss=tf.reduce_mean(class_loss),
                    real_accuracy=class_accuracy(labels, real_cls))

    def _generator_step(self, batch):
        z = self.sample_latent(batch)
        fake_labels = self.sample_labels(batch)
        with tf.GradientTape() as tape:
            fake = self.generator([z, fake_labels], training=True)
            fake_src, fake_cls = self._discriminate(fake)
            class_loss = auxiliary_class_loss(fake_labels, fake_cls)
            g_loss = self.reduce_loss(self.g_loss_fn(fake_src)
                                      + self.class_loss_weight * class_loss)
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return dict(g_loss=g_loss, g_class_loss=tf.reduce_mean(class_loss),
                    fake_accuracy=class_accuracy(fake_labels, fake_cls))

    def train_step(self, data):
        slices = self._real_slices(data)

        # 1. k discriminator updates: source + class loss on real and generated data.
        for images, labels in slices:
            d_values = self._discriminator_step(images, labels)

        # 2. One generator update: fool the source head, satisfy the class head.
        g_values = self._generator_step(tf.shape(slices[0][0])[0])

        replicas = self.num_replicas()
        d_values["d_loss"] *= replicas
        g_values["g_loss"] *= replicas
        return self.update_metrics(**d_values, **g_values)


def compile_acgan(model, d_learning_rate=2e-4, g_learning_rate=2e-4, beta_1=0.5,
                  **compile_kwargs):
    """Compiles an :class:`ACGAN` with the paper's Adam (lr 2e-4, beta1 0.5).

    Args:
      model: the :class:`ACGAN`.
      d_learning_rate, g_learning_rate, beta_1: Adam settings.
      **compile_kwargs: passed to :meth:`ACGAN.compile` (``class_loss_weight=``,
        ``loss=``, ``d_steps=``, ...).

    Returns:
      ``model``, compiled.
    """
    d_opt, g_opt = adam_pair(d_learning_rate, g_learning_rate, beta_1)
    model.compile(d_opt, g_opt, **compile_kwargs)
    return model
