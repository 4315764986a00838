"""InfoGAN: interpretable latent codes by maximising a mutual-information bound.

Paper: Chen, Duan, Houthooft, Schulman, Sutskever, Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets",
NeurIPS 2016.

* Sec. 4-5: the generator input is split into incompressible noise ``z`` and
  latent codes ``c``; ``min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)`` where
  ``L_I = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c)`` is a variational lower
  bound of the mutual information ``I(c; G(z, c))``.
* Sec. 5 (implementation): Q shares D's layers but the last ones; a softmax
  for each categorical code, a factored Gaussian for the continuous codes;
  lambda = 1 for discrete codes, smaller for continuous ones (their term is a
  differential entropy) — we default to 0.1.
* Appendix C.1 (MNIST): one categorical code with 10 values, two continuous codes
  ``U(-1, 1)``, 62 noise dimensions; Adam with lr 2e-4 for D and 1e-3 for G
  (:func:`compile_infogan`).

Losses here (per example, minimised):

* categorical code ``k`` with ``d_k`` values: ``CE(c_k, Q_k(x))``, summed over
  codes (:func:`categorical_code_loss`);
* continuous codes: Gaussian negative log-likelihood
  ``log sigma + (c - mu)^2 / (2 sigma^2) + log(2 pi) / 2``, summed over codes
  (:func:`gaussian_code_nll`); sigma = 1 unless the discriminator outputs
  ``"continuous_log_std"``;
* mutual-information penalty: ``categorical_weight * categorical +
  continuous_weight * continuous`` (``H(c)`` is a constant and is left out).

Who minimises the penalty: both players, on generated samples. The discriminator
step adds it to D's loss, so D's optimizer updates the shared body **and** the Q
head (Q's layers are part of the discriminator model; no third optimizer) — as
the authors' code does; the generator step adds it to G's loss. Real data never
enters the penalty.

Data: unlabelled images; a dataset of ``(images, labels)`` is accepted and its
labels are ignored (InfoGAN is unsupervised). ``d_steps`` slicing, the loss
family, weight clipping and the gradient penalty (on the ``"logit"`` output) work
as for :class:`~tfgan_pipeline.models.gan.GAN`.

Networks: ``networks.infogan_generator`` (``[B, noise_dim + sum(categorical_dims)
+ continuous_dim] -> images``; the model builds that vector as
``concat(z, one_hot(c_1), ..., c_continuous)``) and
``networks.infogan_discriminator`` (``images -> {"logit", "categorical",
"continuous"[, "continuous_log_std"]}``).

Metrics: ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``, ``gp``, ``info_loss`` (the
weighted penalty, generator step), ``categorical_loss`` and ``continuous_loss``
(unweighted, generator step; 0 when the model has no such code) and
``categorical_accuracy`` (how often Q's argmax recovers each categorical code of
the generated samples; chance is ``1 / d_k``).
"""

import math

import numpy as np
import tensorflow as tf

from tfgan_pipeline.models.cgan import adam_pair, check_num_samples, noise_for_generation
from tfgan_pipeline.models.gan import GAN
from tfgan_pipeline.networks.conditional import check_code_dims

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def categorical_code_loss(codes, logits, categorical_dims):
    """Per-example ``sum_k CE(c_k, Q_k(x))`` over the categorical codes, shape ``[batch]``.

    Args:
      codes: int ``[batch, num_codes]`` category of each code.
      logits: ``[batch, sum(categorical_dims)]``, the codes' logits concatenated.
      categorical_dims: number of categories of each code.
    """
    logits = tf.cast(logits, tf.float32)
    codes = tf.cast(codes, tf.int32)
    parts = tf.split(logits, list(categorical_dims), axis=-1)
    return tf.add_n([
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=codes[:, k], logits=part)
        for k, part in enumerate(parts)])


def categorical_code_accuracy(codes, logits, categorical_dims):
    """Fraction of categorical codes whose ``argmax`` Q recovers (scalar, this replica)."""
    parts = tf.split(tf.cast(logits, tf.float32), list(categorical_dims), axis=-1)
    hits = [tf.cast(tf.equal(tf.argmax(p, axis=-1, output_type=tf.int32),
                             tf.cast(codes[:, k], tf.int32)), tf.float32)
            for k, p in enumerate(parts)]
    return tf.reduce_mean(tf.stack(hits, axis=1))


def gaussian_code_nll(codes, mean, log_std=None):
    """Per-example Gaussian negative log-likelihood of continuous codes, shape ``[batch]``.

    ``sum_j log sigma_j + (c_j - mu_j)^2 / (2 sigma_j^2) + log(2 pi) / 2``.

    Args:
      codes: ``[batch, continuous_dim]`` sampled codes.
      mean: ``[batch, continuous_dim]`` Q's means.
      log_std: optional ``[batch, continuous_dim]`` Q's ``log sigma``; ``None`` fixes
        sigma = 1 (the loss is then ``(c - mu)^2 / 2`` plus a constant).
    """
    codes = tf.cast(codes, tf.float32)
    mean = tf.cast(mean, tf.float32)
    if log_std is None:
        per_code = 0.5 * tf.square(codes - mean) + _HALF_LOG_2PI
    else:
        log_std = tf.cast(log_std, tf.float32)
        per_code = (log_std + 0.5 * tf.square((codes - mean) * tf.exp(-log_std))
                    + _HALF_LOG_2PI)
    return tf.reduce_sum(per_code, axis=-1)


class InfoGAN(GAN):
    """InfoGAN: ``InfoGAN(generator, discriminator, noise_dim, categorical_dims, continuous_dim)``.

    Args:
      generator: ``keras.Model`` on ``[B, noise_dim + sum(categorical_dims) +
        continuous_dim]`` (``networks.infogan_generator``).
      discriminator: ``keras.Model`` ``images -> dict`` with ``"logit"`` and the Q
        outputs ``"categorical"`` / ``"continuous"`` (``networks.infogan_discriminator``).
      noise_dim: size of the incompressible noise ``z`` (62 in the MNIST model).
      categorical_dims: number of categories of each categorical code (``(10,)``).
      continuous_dim: number of continuous codes, each ``U(-1, 1)`` (2).
      **kwargs: passed to ``keras.Model``.

    Example:
      ```python
      info = models.InfoGAN(networks.infogan_generator(62), networks.infogan_discriminator(),
                            noise_dim=62)
      models.compile_infogan(info)
      info.fit(data.mnist.mnist_dataset(folder, 64), epochs=5, steps_per_epoch=150)
      # Each row one noise vector; columns sweep the categorical code.
      grid = info.generate(10, categorical=np.arange(10), continuous=[0.0, 0.0],
                           noise=np.zeros(62))
      ```
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp", "info_loss",
                    "categorical_loss", "continuous_loss", "categorical_accuracy")

    def __init__(self, generator, discriminator, noise_dim, categorical_dims=(10,),
                 continuous_dim=2, **kwargs):
        super().__init__(generator, discriminator, latent_dim=noise_dim, **kwargs)
        self.categorical_dims, self.continuous_dim = check_code_dims(
            categorical_dims, continuous_dim)
        self.noise_dim = self.latent_dim
        self.input_dim = self.noise_dim + sum(self.categorical_dims) + self.continuous_dim
        inputs = getattr(generator, "inputs", None)
        if inputs is not None and (len(inputs) != 1 or inputs[0].shape[-1] != self.input_dim):
            raise ValueError(
                f"InfoGAN's generator must take one vector of noise_dim + "
                f"sum(categorical_dims) + continuous_dim = {self.noise_dim} + "
                f"{sum(self.categorical_dims)} + {self.continuous_dim} = {self.input_dim} "
                f"values; it takes {[tuple(i.shape) for i in inputs]}. Build it with "
                "networks.infogan_generator(noise_dim, categorical_dims, continuous_dim).")

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", d_steps=1,
                gradient_penalty_weight=0.0, clip_value=None, categorical_weight=1.0,
                continuous_weight=0.1, **kwargs):
        """Configures optimizers, the GAN loss and the mutual-information weights.

        Args:
          d_optimizer: optimizer of the discriminator *and* the Q head.
          g_optimizer: generator optimizer.
          loss, d_steps, gradient_penalty_weight, clip_value: as :meth:`GAN.compile`.
          categorical_weight: lambda of the categorical codes' loss (paper: 1).
          continuous_weight: lambda of the continuous codes' Gaussian NLL (paper:
            "smaller"; 0.1 here).
          **kwargs: see :meth:`GANBase.compile`.
        """
        for name, value in (("categorical_weight", categorical_weight),
                            ("continuous_weight", continuous_weight)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.categorical_weight = float(categorical_weight)
        self.continuous_weight = float(continuous_weight)
        super().compile(d_optimizer, g_optimizer, loss=loss, d_steps=d_steps,
                        gradient_penalty_weight=gradient_penalty_weight,
                        clip_value=clip_value, **kwargs)

    # ------------------------------------------------------------ latent codes
    def sample_codes(self, batch_size):
        """Draws ``(categorical int32 [B, num_codes], continuous [B, continuous_dim])``.

        Each categorical code is uniform over its categories; continuous codes are
        ``U(-1, 1)`` (appendix C.1). ``tf.random`` ops, so replicas differ.
        """
        categorical = tf.stack(
            [tf.random.uniform([batch_size], 0, d, dtype=tf.int32)
             for d in self.categorical_dims], axis=1) if self.categorical_dims else (
                 tf.zeros([batch_size, 0], tf.int32))
        continuous = tf.random.uniform([batch_size, self.continuous_dim], -1.0, 1.0)
        return categorical, continuous

    def generator_input(self, z, categorical, continuous):
        """``concat(z, one_hot(c_1), ..., one_hot(c_K), continuous)``, float32."""
        parts = [tf.cast(z, tf.float32)]
        parts += [tf.one_hot(tf.cast(categorical[:, k], tf.int32), d, dtype=tf.float32)
                  for k, d in enumerate(self.categorical_dims)]
        parts.append(tf.cast(continuous, tf.float32))
        return tf.concat(parts, axis=1)

    def _q_outputs(self, outputs):
        if not isinstance(outputs, dict) or "logit" not in outputs:
            raise ValueError(
                "InfoGAN's discriminator must return a dict with 'logit' and its Q outputs "
                f"('categorical', 'continuous'); got {type(outputs).__name__}. Build it with "
                "networks.infogan_discriminator.")
        needed = (["categorical"] if self.categorical_dims else []) + (
            ["continuous"] if self.continuous_dim else [])
        missing = [k for k in needed if k not in outputs]
        if missing:
            raise ValueError(
                f"InfoGAN's discriminator lacks the Q outputs {missing} for "
                f"categorical_dims={self.categorical_dims}, continuous_dim="
                f"{self.continuous_dim}; it returns {sorted(outputs)}.")
        return outputs

    def information_losses(self, categorical, continuous, outputs):
        """Returns per-example ``(penalty, categorical_loss, continuous_loss)`` and accuracy.

        ``penalty = categorical_weight * categorical_loss + continuous_weight *
        continuous_loss``; absent code types contribute zeros.
        """
        outputs = self._q_outputs(outputs)
        batch = tf.shape(outputs["logit"])[0]
        zeros = tf.zeros([batch], tf.float32)
        if self.categorical_dims:
            cat_loss = categorical_code_loss(categorical, outputs["categorical"],
                                             self.categorical_dims)
            accuracy = categorical_code_accuracy(categorical, outputs["categorical"],
                                                 self.categorical_dims)
        else:
            cat_loss, accuracy = zeros, tf.constant(0.0)
        if self.continuous_dim:
            cont_loss = gaussian_code_nll(continuous, outputs["continuous"],
                                          outputs.get("continuous_log_std"))
        else:
            cont_loss = zeros
        penalty = self.categorical_weight * cat_loss + self.continuous_weight * cont_loss
        return penalty, cat_loss, cont_loss, accuracy

    # -------------------------------------------------------------- train step
    def _critic(self, x, training=True):
        return self.discriminator(x, training=training)["logit"]

    def _discriminator_step(self, real):
        batch = tf.shape(real)[0]
        z = self.sample_latent(batch)
        categorical, continuous = self.sample_codes(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_input(z, categorical, continuous),
                                  training=True)
            real_out = self._q_outputs(self.discriminator(real, training=True))
            fake_out = self._q_outputs(self.discriminator(fake, training=True))
            real_logit = tf.cast(real_out["logit"], tf.float32)
            fake_logit = tf.cast(fake_out["logit"], tf.float32)
            penalty, _, _, _ = self.information_losses(categorical, continuous, fake_out)
            per_example, gp = self.add_gradient_penalty(
                self.d_loss_fn(real_logit, fake_logit) + penalty, self._critic, real, fake)
            d_loss = self.reduce_loss(per_example)
        self.update_discriminator(tape, d_loss)
        return dict(d_loss=d_loss, d_real=tf.reduce_mean(real_logit),
                    d_fake=tf.reduce_mean(fake_logit), gp=tf.reduce_mean(gp))

    def _generator_step(self, batch):
        z = self.sample_latent(batch)
        categorical, continuous = self.sample_codes(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_input(z, categorical, continuous),
                                  training=True)
            fake_out = self.discriminator(fake, training=True)
            penalty, cat_loss, cont_loss, accuracy = self.information_losses(
                categorical, continuous, fake_out)
            fake_logit = tf.cast(fake_out["logit"], tf.float32)
            g_loss = self.reduce_loss(self.g_loss_fn(fake_logit) + penalty)
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator.trainable_variables)
        return dict(g_loss=g_loss, info_loss=tf.reduce_mean(penalty),
                    categorical_loss=tf.reduce_mean(cat_loss),
                    continuous_loss=tf.reduce_mean(cont_loss), categorical_accuracy=accuracy)

    def train_step(self, data):
        # Labels, if the dataset has them, are ignored: InfoGAN is unsupervised.
        real = data[0] if isinstance(data, (tuple, list)) else data
        slices = self._split_for_d_steps(real)

        # 1. k discriminator + Q updates: GAN loss on real/fake, MI penalty on fake.
        for real_slice in slices:
            d_values = self._discriminator_step(real_slice)

        # 2. One generator update: fool D and make the codes recoverable by Q.
        g_values = self._generator_step(tf.shape(slices[0])[0])

        replicas = self.num_replicas()
        d_values["d_loss"] *= replicas
        g_values["g_loss"] *= replicas
        return self.update_metrics(**d_values, **g_values)

    # ------------------------------------------------------------------ sampling
    def _categorical_for_generation(self, num_samples, categorical, seed):
        num_codes = len(self.categorical_dims)
        if categorical is None:
            if seed is None or not num_codes:
                codes, _ = self.sample_codes(num_samples)
                return codes
            return tf.stack([
                tf.random.stateless_uniform([num_samples], seed=[int(seed), 10 + k], minval=0,
                                            maxval=d, dtype=tf.int32)
                for k, d in enumerate(self.categorical_dims)], axis=1)
        values = np.asarray(categorical)
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"InfoGAN.generate: categorical codes must be integers, got "
                             f"dtype {values.dtype}.")
        if values.ndim == 0 or (values.ndim == 1 and values.shape[0] == num_codes and
                                num_codes > 1):
            values = np.broadcast_to(values.reshape(1, -1), (num_samples, num_codes))
        elif values.ndim == 1 and num_codes == 1:
            values = values.reshape(-1, 1)
        if values.shape != (num_samples, num_codes):
            raise ValueError(
                f"InfoGAN.generate: categorical must be None, one int (one code), "
                f"[{num_codes}] (every sample), [{num_samples}] (one code) or "
                f"[{num_samples}, {num_codes}]; got shape {np.shape(categorical)}.")
        for k, d in enumerate(self.categorical_dims):
            if values[:, k].min() < 0 or values[:, k].max() >= d:
                raise ValueError(
                    f"InfoGAN.generate: categorical code {k} takes values in [0, {d}); got "
                    f"min {values[:, k].min()}, max {values[:, k].max()}.")
        return tf.constant(values, tf.int32)

    def _continuous_for_generation(self, num_samples, continuous, seed):
        shape = [num_samples, self.continuous_dim]
        if continuous is None:
            if seed is None:
                return tf.random.uniform(shape, -1.0, 1.0)
            return tf.random.stateless_uniform(shape, seed=[int(seed), 1], minval=-1.0,
                                               maxval=1.0)
        values = np.asarray(continuous, np.float32)
        if values.ndim == 0 or values.shape == (self.continuous_dim,):
            values = np.broadcast_to(values, shape)
        if values.shape != tuple(shape):
            raise ValueError(
                f"InfoGAN.generate: continuous must be None, a number, [{self.continuous_dim}]"
                f" (every sample) or {shape}; got shape {np.shape(continuous)}.")
        return tf.constant(values)

    def generate(self, num_samples, categorical=None, continuous=None, seed=None, noise=None,
                 batch_size=256):
        """Returns ``num_samples`` generated images (float32) for chosen or drawn codes.

        Sweeping one code with the others fixed (the paper's Fig. 2) is
        ``generate(n, categorical=..., continuous=..., noise=one_z)``.

        Args:
          num_samples: how many samples.
          categorical: ``None`` draws every categorical code from its uniform prior;
            one int sets the (single) code; ``[num_samples]`` ids (single code);
            ``[num_codes]`` for every sample; or ``[num_samples, num_codes]``.
          continuous: ``None`` draws ``U(-1, 1)``; a number or ``[continuous_dim]`` is
            used for every sample; or ``[num_samples, continuous_dim]`` (values
            outside ``[-1, 1]`` extrapolate, as in the paper's Fig. 2).
          seed: an int makes every drawn part reproducible: ``z`` is
            ``stateless_normal(seed=[seed, 0])`` (as in ``GAN.generate``), the
            continuous codes use ``[seed, 1]`` and categorical code ``k``
            ``[seed, 10 + k]``.
          noise: optional ``z``: ``[noise_dim]`` shared by every sample, or
            ``[num_samples, noise_dim]``.
          batch_size: generator batch size, to bound memory.

        Raises:
          ValueError: for codes of the wrong shape or out of range.
        """
        num_samples = check_num_samples(num_samples)
        z = noise_for_generation(num_samples, self.noise_dim, seed, noise, "InfoGAN")
        cat = self._categorical_for_generation(num_samples, categorical, seed)
        cont = self._continuous_for_generation(num_samples, continuous, seed)
        return self.generate_from_latent(self.generator_input(z, cat, cont),
                                         batch_size=batch_size)


def compile_infogan(model, d_learning_rate=2e-4, g_learning_rate=1e-3, beta_1=0.5,
                    **compile_kwargs):
    """Compiles an :class:`InfoGAN` with the paper's Adam (D 2e-4, G 1e-3; beta1 0.5).

    Args:
      model: the :class:`InfoGAN`.
      d_learning_rate: learning rate of D and the Q head (they share an optimizer).
      g_learning_rate: generator learning rate.
      beta_1: Adam beta1 (0.5 as in the authors' code).
      **compile_kwargs: passed to :meth:`InfoGAN.compile` (``categorical_weight=``,
        ``continuous_weight=``, ``loss=``, ...).

    Returns:
      ``model``, compiled.
    """
    d_opt, g_opt = adam_pair(d_learning_rate, g_learning_rate, beta_1)
    model.compile(d_opt, g_opt, **compile_kwargs)
    return model
