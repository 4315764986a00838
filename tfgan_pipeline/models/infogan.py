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
  (the ``"infogan"`` row of :mod:`tfgan_pipeline.models.presets`).

Losses here (per example, minimised):

* categorical code ``k`` with ``d_k`` values: ``CE(c_k, Q_k(x))``, summed over
  codes (:func:`tfgan_pipeline.losses.categorical_code_loss`);
* continuous codes: Gaussian negative log-likelihood
  ``log sigma + (c - mu)^2 / (2 sigma^2) + log(2 pi) / 2``, summed over codes
  (:func:`tfgan_pipeline.losses.gaussian_code_nll`); sigma = 1 unless the
  discriminator outputs ``"continuous_log_std"``;
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

This file overrides only what differs from :class:`GAN`: the codes as the
generated samples' condition, the generator input, the Q heads, the
mutual-information terms of both players and ``generate(..., categorical=,
continuous=)``.

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

import numpy as np
import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models.gan import GAN
from tfgan_pipeline.networks.conditional import check_code_dims


def categorical_code_hits(codes, logits, categorical_dims):
    """Per example, the fraction of categorical codes whose ``argmax`` Q recovers: ``[batch]``."""
    parts = tf.split(tf.cast(logits, tf.float32), list(categorical_dims), axis=-1)
    hits = [tf.cast(tf.equal(tf.argmax(p, axis=-1, output_type=tf.int32),
                             tf.cast(codes[:, k], tf.int32)), tf.float32)
            for k, p in enumerate(parts)]
    return tf.reduce_mean(tf.stack(hits, axis=1), axis=1)


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
      models.compile_preset(info)                  # the "infogan" row
      info.fit(data.mnist.mnist_dataset(folder, 64), epochs=5, steps_per_epoch=150)
      # One noise vector; the samples sweep the categorical code.
      grid = info.generate(10, categorical=np.arange(10), continuous=[0.0, 0.0],
                           noise=np.zeros(62))
      ```
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "gp", "info_loss",
                    "categorical_loss", "continuous_loss", "categorical_accuracy")
    conditioning = ("categorical", "continuous")
    default_preset = "infogan"

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

    def compile(self, d_optimizer, g_optimizer, categorical_weight=1.0, continuous_weight=0.1,
                **kwargs):
        """Configures optimizers, the GAN loss and the mutual-information weights.

        Args:
          d_optimizer: optimizer of the discriminator *and* the Q head.
          g_optimizer: generator optimizer.
          categorical_weight: lambda of the categorical codes' loss (paper: 1).
          continuous_weight: lambda of the continuous codes' Gaussian NLL (paper:
            "smaller"; 0.1 here).
          **kwargs: :meth:`GAN.compile` options (``loss``, ``d_steps``,
            ``gradient_penalty_weight`` on the ``"logit"`` output, ``clip_value``)
            and :meth:`GANBase.compile` ones.
        """
        for name, value in (("categorical_weight", categorical_weight),
                            ("continuous_weight", continuous_weight)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.categorical_weight = float(categorical_weight)
        self.continuous_weight = float(continuous_weight)
        super().compile(d_optimizer, g_optimizer, **kwargs)

    # ------------------------------------------------------------------ hooks
    def sample_condition(self, batch_size):
        """Draws the codes ``(categorical int32 [B, num_codes], continuous [B, continuous_dim])``.

        Each categorical code is uniform over its categories; continuous codes are
        ``U(-1, 1)`` (appendix C.1). ``tf.random`` ops, so replicas differ.
        """
        categorical = tf.stack(
            [tf.random.uniform([batch_size], 0, d, dtype=tf.int32)
             for d in self.categorical_dims], axis=1) if self.categorical_dims else (
                 tf.zeros([batch_size, 0], tf.int32))
        continuous = tf.random.uniform([batch_size, self.continuous_dim], -1.0, 1.0)
        return categorical, continuous

    def generator_inputs(self, z, condition):
        """``concat(z, one_hot(c_1), ..., one_hot(c_K), continuous)``, float32."""
        categorical, continuous = condition
        parts = [tf.cast(z, tf.float32)]
        parts += [tf.one_hot(tf.cast(categorical[:, k], tf.int32), d, dtype=tf.float32)
                  for k, d in enumerate(self.categorical_dims)]
        parts.append(tf.cast(continuous, tf.float32))
        return tf.concat(parts, axis=1)

    def discriminate(self, images, condition):
        outputs = self.discriminator(images, training=True)
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
        return {"score": tf.cast(outputs["logit"], tf.float32),
                **{k: v for k, v in outputs.items() if k != "logit"}}

    def information_terms(self, codes, outputs):
        """Per-example mutual-information terms of generated samples (Sec. 5).

        Returns:
          ``{"loss": penalty, "info_loss": penalty, "categorical_loss",
          "continuous_loss", "categorical_accuracy"}``, each ``[batch]``, with
          ``penalty = categorical_weight * categorical_loss + continuous_weight *
          continuous_loss``; absent code types contribute zeros.
        """
        categorical, continuous = codes
        zeros = tf.zeros([tf.shape(outputs["score"])[0]], tf.float32)
        if self.categorical_dims:
            cat_loss = losses_lib.categorical_code_loss(categorical, outputs["categorical"],
                                                        self.categorical_dims)
            accuracy = categorical_code_hits(categorical, outputs["categorical"],
                                             self.categorical_dims)
        else:
            cat_loss, accuracy = zeros, zeros
        if self.continuous_dim:
            cont_loss = losses_lib.gaussian_code_nll(continuous, outputs["continuous"],
                                                     outputs.get("continuous_log_std"))
        else:
            cont_loss = zeros
        penalty = self.categorical_weight * cat_loss + self.continuous_weight * cont_loss
        return {"loss": penalty, "info_loss": penalty, "categorical_loss": cat_loss,
                "continuous_loss": cont_loss, "categorical_accuracy": accuracy}

    def discriminator_extras(self, real_condition, real_out, fake_condition, fake_out):
        # D's optimizer trains the shared body and the Q head on the penalty too.
        return {"loss": self.information_terms(fake_condition, fake_out)["loss"]}

    def generator_extras(self, fake_condition, fake_out):
        return self.information_terms(fake_condition, fake_out)

    # --------------------------------------------------------------- sampling
    def condition_for_generation(self, num_samples, seed=None, categorical=None,
                                 continuous=None):
        """Codes for ``generate``: given, or drawn from the prior (reproducibly with ``seed``).

        ``categorical``: ``None`` draws every categorical code from its uniform prior;
        one int sets the (single) code; ``[num_samples]`` ids (single code);
        ``[num_codes]`` for every sample; or ``[num_samples, num_codes]``.
        ``continuous``: ``None`` draws ``U(-1, 1)``; a number or ``[continuous_dim]``
        is used for every sample; or ``[num_samples, continuous_dim]`` (values
        outside ``[-1, 1]`` extrapolate, as in the paper's Fig. 2). With an int
        ``seed`` the continuous codes use ``[seed, 1]`` and categorical code ``k``
        ``[seed, 10 + k]``.
        """
        return (self._categorical_for_generation(num_samples, categorical, seed),
                self._continuous_for_generation(num_samples, continuous, seed))

    def _categorical_for_generation(self, num_samples, categorical, seed):
        num_codes = len(self.categorical_dims)
        if categorical is None:
            if seed is None or not num_codes:
                codes, _ = self.sample_condition(num_samples)
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
