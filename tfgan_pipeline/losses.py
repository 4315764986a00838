"""Pure, per-example GAN losses.

Every function takes discriminator outputs *before* any sigmoid (logits, critic
scores, or PatchGAN maps of shape ``[batch, ...]``) and returns a loss of shape
``[batch]``: the mean over all non-batch axes. Reduction to a scalar happens in one
place, :meth:`tfgan_pipeline.models.base.GANBase.reduce_loss`, scaled by the *global*
batch size so that gradients are correct under ``tf.distribute`` strategies.

Papers:
    * minimax / non-saturating: Goodfellow et al., "Generative Adversarial Nets",
        NeurIPS 2014, Eq. 1 and Sec. 3 (the ``-log D(G(z))`` heuristic).
    * Wasserstein: Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017, Alg. 1.
    * gradient penalty: Gulrajani et al., "Improved Training of Wasserstein GANs",
        NeurIPS 2017, Alg. 1 (x_hat = a*x + (1-a)*x_tilde, a ~ U[0, 1]).
    * least squares: Mao et al., "Least Squares Generative Adversarial Networks",
        ICCV 2017, Eq. 2 with a=0, b=c=1.
    * hinge: Lim & Ye, "Geometric GAN", 2017; Miyato et al., "Spectral
        Normalization for GANs", ICLR 2018, Eq. 16-17.

Auxiliary objectives, per example as well:
    * ACGAN class loss: Odena, Olah, Shlens, "Conditional Image Synthesis with
        Auxiliary Classifier GANs", ICML 2017, Sec. 3 (``L_C``, the log-likelihood
        of the correct class, as a cross-entropy to minimise).
    * InfoGAN mutual-information terms: Chen et al., "InfoGAN", NeurIPS 2016,
        Sec. 5: ``-log Q(c|x)`` for categorical codes (softmax) and for continuous
        codes (a factored Gaussian).
    * pix2pix L1: Isola et al., "Image-to-Image Translation with Conditional
        Adversarial Networks", CVPR 2017, Eq. 3.
    * CycleGAN cycle-consistency and identity losses: Zhu et al., "Unpaired
        Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV
        2017, Eq. 2 and Sec. 5.2 (both L1).
"""

import math

import tensorflow as tf

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _per_example_mean(x):
    """Means ``x`` over every axis but the first, returning shape ``[batch]``."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank is not None and x.shape.rank == 0:
        raise ValueError(
                "GAN losses need a batch axis: got a scalar discriminator output. Pass "
                "outputs of shape [batch] or [batch, ...].")
    if x.shape.rank == 1:
        return x
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def _check_pair(real, fake):
    real = tf.convert_to_tensor(real)
    fake = tf.convert_to_tensor(fake, dtype=real.dtype)
    if (real.shape.rank is not None and fake.shape.rank is not None and
            real.shape[1:] != fake.shape[1:] and
            real.shape[1:].is_fully_defined() and fake.shape[1:].is_fully_defined()):
        raise ValueError(
                f"Real and fake discriminator outputs must have the same per-example shape; "
                f"got {real.shape} and {fake.shape}.")
    return real, fake


def minimax_discriminator_loss(real_logits, fake_logits):
    """``-log D(x) - log(1 - D(G(z)))`` = softplus(-r) + softplus(f), per example."""
    real_logits, fake_logits = _check_pair(real_logits, fake_logits)
    return (_per_example_mean(tf.nn.softplus(-real_logits)) +
                    _per_example_mean(tf.nn.softplus(fake_logits)))


def minimax_generator_loss(fake_logits):
    """``log(1 - D(G(z)))`` = -softplus(f): the original, saturating generator loss."""
    return _per_example_mean(-tf.nn.softplus(tf.convert_to_tensor(fake_logits)))


def modified_generator_loss(fake_logits):
    """``-log D(G(z))`` = softplus(-f): the non-saturating heuristic."""
    return _per_example_mean(tf.nn.softplus(-tf.convert_to_tensor(fake_logits)))


def wasserstein_discriminator_loss(real_scores, fake_scores):
    """Critic loss ``f - r`` (the critic maximises r - f)."""
    real_scores, fake_scores = _check_pair(real_scores, fake_scores)
    return _per_example_mean(fake_scores) - _per_example_mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """Generator loss ``-f``."""
    return -_per_example_mean(tf.convert_to_tensor(fake_scores))


def least_squares_discriminator_loss(real_outputs, fake_outputs):
    """``0.5 (r - 1)^2 + 0.5 f^2``."""
    real_outputs, fake_outputs = _check_pair(real_outputs, fake_outputs)
    return (_per_example_mean(0.5 * tf.square(real_outputs - 1.0)) +
                    _per_example_mean(0.5 * tf.square(fake_outputs)))


def least_squares_generator_loss(fake_outputs):
    """``0.5 (f - 1)^2``."""
    return _per_example_mean(0.5 * tf.square(tf.convert_to_tensor(fake_outputs) - 1.0))


def hinge_discriminator_loss(real_outputs, fake_outputs):
    """``relu(1 - r) + relu(1 + f)``."""
    real_outputs, fake_outputs = _check_pair(real_outputs, fake_outputs)
    return (_per_example_mean(tf.nn.relu(1.0 - real_outputs)) +
                    _per_example_mean(tf.nn.relu(1.0 + fake_outputs)))


def hinge_generator_loss(fake_outputs):
    """``-f``."""
    return -_per_example_mean(tf.convert_to_tensor(fake_outputs))


def wasserstein_gradient_penalty(critic, real, fake, alpha=None):
    """Per-example gradient penalty ``(||grad_x critic(x_hat)||_2 - 1)^2``.

    ``x_hat = a * real + (1 - a) * fake`` with ``a ~ U[0, 1]`` drawn once per example
    (Gulrajani et al. 2017, Alg. 1, line 6).

    Args:
        critic: callable mapping a batch of inputs to scores ``[batch, ...]``. It is
            called with ``training=True``.
        real: real batch ``[batch, ...]``.
        fake: generated batch of the same shape.
        alpha: optional ``[batch]`` interpolation weights (tests pass fixed ones);
            drawn from U[0, 1] when ``None``.

    Returns:
        ``[batch]`` penalties.
    """
    real = tf.convert_to_tensor(real)
    fake = tf.convert_to_tensor(fake, dtype=real.dtype)
    if real.shape.is_fully_defined() and fake.shape.is_fully_defined() and (
            real.shape != fake.shape):
        raise ValueError(
                f"Gradient penalty needs real and fake batches of the same shape; got "
                f"{real.shape} and {fake.shape}.")
    batch = tf.shape(real)[0]
    if alpha is None:
        alpha = tf.random.uniform([batch], 0.0, 1.0, dtype=real.dtype)
    alpha = tf.cast(tf.reshape(alpha, [-1] + [1] * (real.shape.rank - 1)), real.dtype)
    x_hat = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
        # Per-example scores: sum over patch axes so each example's gradient is its own.
        total = tf.reduce_sum(tf.cast(_per_example_mean(scores), tf.float32))
    grads = tf.cast(tape.gradient(total, x_hat), tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.reshape(tf.square(grads), [batch, -1]), axis=1) + 1e-12)
    return tf.square(norms - 1.0)


# ------------------------------------------------------------- auxiliary losses
def auxiliary_class_loss(labels, class_logits):
    """ACGAN's class loss ``-log P(C = label | X)`` (softmax cross-entropy), shape ``[batch]``.

    Args:
        labels: integer class ids ``[batch]``.
        class_logits: ``[batch, num_classes]`` logits of the auxiliary classifier.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32))


def categorical_code_loss(codes, logits, categorical_dims):
    """InfoGAN's ``sum_k -log Q(c_k | x)`` over the categorical codes, shape ``[batch]``.

    Args:
        codes: int ``[batch, num_codes]``, the category of each code.
        logits: ``[batch, sum(categorical_dims)]``, Q's logits of the codes, concatenated.
        categorical_dims: number of categories of each code.
    """
    logits = tf.cast(logits, tf.float32)
    codes = tf.cast(codes, tf.int32)
    parts = tf.split(logits, list(categorical_dims), axis=-1)
    return tf.add_n([
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=codes[:, k], logits=part)
            for k, part in enumerate(parts)])


def gaussian_code_nll(codes, mean, log_std=None):
    """InfoGAN's Gaussian ``-log Q(c | x)`` of continuous codes, shape ``[batch]``.

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


def l1_loss(target, output):
    """Mean absolute error over every axis but the batch (pix2pix's L1 term), ``[batch]``."""
    target = tf.cast(target, tf.float32)
    output = tf.cast(output, tf.float32)
    return _per_example_mean(tf.abs(target - output))


def cycle_consistency_loss(real, reconstructed):
    """CycleGAN's ``|F(G(x)) - x|_1``: per-example L1 between an image and its round trip."""
    return l1_loss(real, reconstructed)


def identity_loss(real, mapped):
    """CycleGAN's identity term ``|G(y) - y|_1``: a generator fed its own output domain."""
    return l1_loss(real, mapped)


# name -> (discriminator_loss, generator_loss)
LOSSES = {
        "minimax": (minimax_discriminator_loss, minimax_generator_loss),
        "non_saturating": (minimax_discriminator_loss, modified_generator_loss),
        "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
        "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
        "hinge": (hinge_discriminator_loss, hinge_generator_loss),
}


def get_losses(name):
    """Returns ``(discriminator_loss, generator_loss)`` for a loss name.

    Raises:
        ValueError: naming the valid choices when ``name`` is unknown.
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
                f"Unknown GAN loss {name!r}; choose one of {sorted(LOSSES)}.") from None
