"""pix2pix: paired image-to-image translation, trained with ``model.fit``.

Paper: Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017.

* Objective (Sec. 3.1, Eq. 4): ``G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)``
  with ``lambda = 100`` (Sec. 4). The discriminator is conditional: it scores
  ``(input, target)`` and ``(input, G(input))`` pairs, patch by patch.
* Optimisation (Sec. 3.3): one gradient step on D, one on G; G maximises
  ``log D(x, G(x))`` (the non-saturating loss, ``losses.modified_generator_loss``);
  "we divide the objective by 2 while optimizing D, which slows down the rate at
  which D learns relative to G" — done here: the D loss is half the minimax (or
  least-squares) discriminator loss; Adam, lr 2e-4, beta1 0.5 (the ``"pix2pix"``
  row of :mod:`tfgan_pipeline.models.presets`).
* Noise (Sec. 2, 3.1): "we provide noise only in the form of dropout", so there is
  no latent vector (``latent_dim=None``).
* Test time (Sec. 3.3): "we apply dropout at test time, and we apply batch
  normalization using the statistics of the test batch rather than aggregated
  statistics of the training batch."

One train step
--------------
The generator runs forward **once** per step; one forward pass of D on real
pairs and one on generated pairs is recorded on two gradient tapes (as in the
TensorFlow pix2pix tutorial): the template's ``simultaneous_updates`` schedule.
Both gradients are computed from that shared forward pass, with the weights of
the start of the step, and then both optimizers apply them. (The PyTorch port instead updates D first and re-runs D on the
generated pair for G's update; the difference is the D weights G's gradient sees,
one optimizer step apart, and one more D forward pass per step.) Per-example losses are reduced with
:meth:`GANBase.reduce_loss` (global batch), so training under
``MirroredStrategy`` equals one device with the global batch when BatchNorm is
synchronised (the networks' default).

On TF 2.21 (CPU) Grappler may log ``remapper failed: ... fanout
'.../LeakyReluGrad' exist for missing node '.../BiasAdd'`` once per traced training
function (a Grappler issue around LeakyReLU followed by padded convolutions, also
seen with a three-layer Keras model); it only skips that graph rewrite, and the
step's results are unaffected.

Metrics: ``d_loss`` (the halved D objective that is optimised), ``g_loss``
(``gan_weight * g_gan_loss + l1_weight * g_l1_loss``), ``g_gan_loss``, ``g_l1_loss`` (mean
absolute error on the [-1, 1] scale, unweighted), ``d_real`` and ``d_fake`` (D's
mean logit on real and on generated pairs).

Test-time modes
---------------
:func:`make_translate_fn` (and :meth:`Pix2Pix.translate`) make the choice explicit:

* ``"paper"``: batch statistics and dropout, as in the paper. Measured on this
  stack after 1,500 steps at batch 1 (figures from the project's pix2pix issue):
  L1 11.3 (on 0-255) in this mode against 21.5 with the moving averages.
* ``"batch_stats"``: batch statistics, no dropout (deterministic for a batch).
* ``"inference"``: ``training=False`` — BatchNorm moving averages, no dropout.

None of them changes a variable. In Keras 3, calling a ``BatchNormalization``
layer with ``training=True`` updates its moving mean and variance, and ``Dropout``
advances its seed-generator state, so ``"paper"`` and ``"batch_stats"`` do not
call the generator with ``training=True``: they run a *translation copy*, a
functional clone (``keras.models.clone_model``) that reuses every layer of the
generator — hence its current weights — except that each ``BatchNormalization``
is replaced by a layer normalising with the batch's own statistics and the
original layer's scale and offset, and (``"paper"`` only) each ``Dropout`` by
dropout drawn with ``tf.random`` ops. The copy is called with ``training=False``,
so the function is pure apart from random draws, traceable by ``tf.function`` and
safe to export (``make_translate_fn(generator, mode)`` returns
``callable(images float32 in [-1, 1]) -> float32 images``). Batch statistics are
those of the batch passed in: translate images one at a time (``batch_size=1``)
to reproduce the paper's batch-1 test protocol exactly.
"""

import keras
import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models import fused_adam as fused_adam_lib
from tfgan_pipeline.models.base import GANBase

#: ``gan_loss`` name -> the :data:`tfgan_pipeline.losses.LOSSES` entry it uses.
GAN_LOSSES = {
    # Sec. 3.3: minimax D loss, non-saturating G loss.
    "vanilla": "non_saturating",
    "least_squares": "least_squares",
}

#: Test-time behaviours of :func:`make_translate_fn`.
TRANSLATE_MODES = ("paper", "batch_stats", "inference")

# Layers whose behaviour depends on `training` and which a translation copy cannot
# reproduce faithfully; met in a generator, they raise instead of being ignored.
_UNSUPPORTED_TRAINING_LAYERS = (
    keras.layers.GaussianNoise, keras.layers.GaussianDropout, keras.layers.AlphaDropout,
    keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D)


# ---------------------------------------------------------------- translation
class _BatchStatistics(keras.layers.Layer):
    """Stands in for a ``BatchNormalization`` layer: normalises with the statistics of
    the batch it is given and the original layer's ``gamma``/``beta``; never updates
    the moving statistics (they are not even read, unless the layer is frozen)."""

    def __init__(self, batch_norm, **kwargs):
        super().__init__(name=f"{batch_norm.name}_batch_stats", dtype=batch_norm.dtype_policy,
                         **kwargs)
        if batch_norm.renorm:
            raise ValueError(
                f"BatchNormalization layer {batch_norm.name!r} uses renorm, which the "
                "translation copy does not reproduce; use mode='inference'.")
        self.batch_norm = batch_norm

    def call(self, inputs, training=None, mask=None):
        del training  # batch statistics whatever the mode: that is this layer's job
        if mask is not None:
            raise ValueError(
                f"Masked BatchNormalization ({self.batch_norm.name!r}) is not supported "
                "by the translation copy; use mode='inference'.")
        bn = self.batch_norm
        x = tf.cast(inputs, tf.float32)  # as BatchNormalization does, for bf16/fp16
        axes = [bn.axis] if isinstance(bn.axis, int) else list(bn.axis)
        axes = [a % len(x.shape) for a in axes]
        reduction = [a for a in range(len(x.shape)) if a not in axes]
        if bn.trainable:  # a frozen BatchNormalization uses its moving averages
            mean, variance = tf.nn.moments(x, reduction, keepdims=True)
        else:
            mean, variance = bn.moving_mean, bn.moving_variance
        shape = [x.shape[a] if a in axes else 1 for a in range(len(x.shape))]
        mean = tf.reshape(tf.cast(mean, tf.float32), shape)
        variance = tf.reshape(tf.cast(variance, tf.float32), shape)
        gamma = tf.reshape(tf.cast(bn.gamma, tf.float32), shape) if bn.scale else None
        beta = tf.reshape(tf.cast(bn.beta, tf.float32), shape) if bn.center else None
        out = tf.nn.batch_normalization(x, mean, variance, beta, gamma, bn.epsilon)
        return tf.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


class _ActiveDropout(keras.layers.Layer):
    """Dropout that is always on, drawn with ``tf.random`` (no seed-state variable)."""

    def __init__(self, dropout, **kwargs):
        super().__init__(name=f"{dropout.name}_active", dtype=dropout.dtype_policy, **kwargs)
        self.rate = float(dropout.rate)
        self.noise_shape = dropout.noise_shape

    def call(self, inputs, training=None):
        del training  # always on
        if self.rate == 0.0:
            return inputs
        noise_shape = None
        if self.noise_shape is not None:
            dynamic = tf.shape(inputs)
            noise_shape = tf.stack([dynamic[i] if d is None else d
                                    for i, d in enumerate(self.noise_shape)])
        return tf.nn.dropout(inputs, rate=self.rate, noise_shape=noise_shape)

    def compute_output_shape(self, input_shape):
        return input_shape


def _translation_copy(generator, keep_dropout):
    """Functional clone of ``generator`` sharing its layers; see the module docstring."""
    functional = hasattr(generator, "_run_through_graph")  # keras Functional models
    if not (isinstance(generator, keras.Sequential) or
            (isinstance(generator, keras.Model) and functional)):
        raise ValueError(
            "Batch-statistics translation needs a functional or Sequential keras.Model "
            f"generator (like networks.unet_generator), got {type(generator).__name__}; "
            "use mode='inference' for other models.")

    def replace(layer):
        if isinstance(layer, _UNSUPPORTED_TRAINING_LAYERS):
            raise ValueError(
                f"Layer {layer.name!r} ({type(layer).__name__}) behaves differently in "
                "training, and make_translate_fn cannot reproduce that without calling "
                "it with training=True; use mode='inference'.")
        if isinstance(layer, keras.layers.BatchNormalization):
            return _BatchStatistics(layer)
        if keep_dropout and type(layer) is keras.layers.Dropout:
            return _ActiveDropout(layer)
        return layer  # shared: same object, same variables

    return keras.models.clone_model(generator, clone_function=replace, recursive=True)


def make_translate_fn(generator, mode="paper"):
    """Returns a pure function ``images -> generator(images)`` for a test-time mode.

    Args:
      generator: the trained generator (a functional ``keras.Model`` for
        ``"paper"``/``"batch_stats"``).
      mode: ``"paper"`` (batch statistics + dropout, the paper's test protocol),
        ``"batch_stats"`` (batch statistics, no dropout) or ``"inference"``
        (moving averages, no dropout). See the module docstring.

    Returns:
      ``fn(images)``: float32 images in [-1, 1], ``[batch, h, w, c]`` -> float32
      generator outputs. It reads the generator's current weights on every call,
      never assigns to a variable, and can be wrapped in ``tf.function`` (with any
      ``input_signature``) and exported.
    """
    if mode not in TRANSLATE_MODES:
        raise ValueError(f"Unknown translate mode {mode!r}; choose one of {TRANSLATE_MODES}.")
    if mode == "inference":
        net = generator
    else:
        with tf.init_scope():  # build the copy eagerly even when asked inside a trace
            net = _translation_copy(generator, keep_dropout=(mode == "paper"))

    def translate(images):
        images = tf.convert_to_tensor(images, tf.float32)
        return tf.cast(net(images, training=False), tf.float32)

    translate.__name__ = f"translate_{mode}"
    return translate


# --------------------------------------------------------------------- model
class Pix2Pix(GANBase):
    """pix2pix training model: ``Pix2Pix(generator, discriminator, l1_weight=100.0)``.

    Example:
      ```python
      gen = networks.unet_generator(256)
      disc = networks.patchgan_discriminator(256)
      model = compile_preset(Pix2Pix(gen, disc))   # Adam 2e-4, beta1 0.5, vanilla
      model.fit(pairs.batch(1), epochs=200)        # pairs: (input_image, target_image)
      outputs = model.translate(inputs, mode="paper", batch_size=1)
      ```

    Args:
      generator: ``input_image -> image`` (e.g. :func:`networks.unet_generator`).
      discriminator: ``[input_image, target_image] -> logits`` of any per-example
        shape (e.g. :func:`networks.patchgan_discriminator`).
      l1_weight: lambda, the weight of the L1 term (100 in the paper; 0 gives the
        cGAN-only ablation).
      gan_weight: weight of the generator's adversarial term (1 in the paper; 0 gives
        the L1-only ablation of Table 1, in which D still trains but G ignores it).
      **kwargs: passed to ``keras.Model``.

    On the template (:class:`GANBase`) it overrides what differs: the pair
    validation (:meth:`real_slices`), one shared forward pass for both players
    (:meth:`joint_losses`, ``simultaneous_updates``), ``test_step`` (the
    test-time mode) and translation instead of sampling.
    """

    metric_names = ("d_loss", "g_loss", "g_gan_loss", "g_l1_loss", "d_real", "d_fake")
    simultaneous_updates = True
    default_preset = "pix2pix"

    def __init__(self, generator, discriminator, l1_weight=100.0, gan_weight=1.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim=None, **kwargs)
        for name, value in (("l1_weight", l1_weight), ("gan_weight", gan_weight)):
            if float(value) < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        if float(l1_weight) == 0 and float(gan_weight) == 0:
            raise ValueError("l1_weight and gan_weight are both 0: the generator would "
                             "have no objective.")
        self.l1_weight = float(l1_weight)
        self.gan_weight = float(gan_weight)

    def compile(self, d_optimizer, g_optimizer, gan_loss="vanilla", eval_mode="paper",
                fused_adam=True, **kwargs):
        """Configures optimizers and the adversarial loss.

        Args:
          d_optimizer: discriminator optimizer.
          g_optimizer: generator optimizer.
          gan_loss: ``"vanilla"`` (paper: minimax D loss, non-saturating G loss) or
            ``"least_squares"`` (LSGAN losses).
          eval_mode: test-time mode ``evaluate``/validation uses for the generator
            (see :func:`make_translate_fn`); the discriminator is evaluated with
            ``training=False``.
          fused_adam: update plain ``keras.optimizers.Adam`` optimizers with one fused
            kernel per variable (same formula, same state; see
            :mod:`tfgan_pipeline.models.fused_adam`). Other optimizers are untouched.
          **kwargs: see :meth:`GANBase.compile` (``steps_per_execution``, ...).
        """
        if gan_loss not in GAN_LOSSES:
            raise ValueError(
                f"Unknown gan_loss {gan_loss!r} for Pix2Pix; choose one of {sorted(GAN_LOSSES)}.")
        if eval_mode not in TRANSLATE_MODES:
            raise ValueError(
                f"Unknown eval_mode {eval_mode!r}; choose one of {TRANSLATE_MODES}.")
        self.gan_loss = gan_loss
        self.eval_mode = eval_mode
        self.d_loss_fn, self.g_loss_fn = losses_lib.get_losses(GAN_LOSSES[gan_loss])
        super().compile(d_optimizer, g_optimizer, **kwargs)
        if fused_adam:
            fused_adam_lib.fuse(self.d_optimizer)
            fused_adam_lib.fuse(self.g_optimizer)

    # ------------------------------------------------------------------ hooks
    def real_slices(self, data):
        """``[(input_image, target_image)]``: pix2pix takes one D step per G step."""
        if isinstance(data, (tuple, list)) and len(data) == 2:
            return [(data[0], data[1])]
        got = (f"a {type(data).__name__} of {len(data)}" if isinstance(data, (tuple, list))
               else type(data).__name__)
        raise ValueError(
            "Pix2Pix.fit/evaluate expect batches of (input_image, target_image) pairs "
            f"(e.g. fit(x=inputs, y=targets) or a dataset of 2-tuples); got {got}.")

    def pair_losses(self, source, target, output, training=True):
        """Per-example ``(d_values, g_values)`` for one (input, target, output) batch."""
        real = tf.cast(self.discriminator([source, target], training=training), tf.float32)
        fake = tf.cast(self.discriminator([source, output], training=training), tf.float32)
        g_gan = self.g_loss_fn(fake)
        g_l1 = losses_lib.l1_loss(target, output)
        d_values = {"d_loss": 0.5 * self.d_loss_fn(real, fake),  # Sec. 3.3: D objective / 2
                    "d_real": real, "d_fake": fake}
        g_values = {"g_loss": self.gan_weight * g_gan + self.l1_weight * g_l1,
                    "g_gan_loss": g_gan, "g_l1_loss": g_l1}
        return d_values, g_values

    def joint_losses(self, real):
        """One shared forward pass: G once, D on the real and on the generated pair."""
        source, target = real
        return self.pair_losses(source, target, self.generator(source, training=True))

    def test_step(self, data):
        (source, target), = self.real_slices(data)
        output = self.translate_fn(self.eval_mode)(source)
        return self.report(*self.pair_losses(source, target, output, training=False))

    # ---------------------------------------------------------- translation
    def translate_fn(self, mode="paper"):
        """Cached :func:`make_translate_fn` for this model's generator."""
        if mode not in self._cache.fns:
            self._cache.fns[mode] = make_translate_fn(self.generator, mode)
        return self._cache.fns[mode]

    def translate(self, images, mode="paper", batch_size=None):
        """Translates input images (float32 in [-1, 1]); changes no variable.

        Args:
          images: ``[n, h, w, c]`` array or tensor.
          mode: ``"paper"``, ``"batch_stats"`` or ``"inference"``; see the module
            docstring.
          batch_size: translate in chunks of this size. With ``"paper"`` and
            ``"batch_stats"`` the BatchNorm statistics are each chunk's, so
            ``batch_size=1`` reproduces the paper's batch-1 testing; ``None`` uses
            all images as one batch.

        Returns:
          float32 tensor ``[n, h, w, output_channels]``.
        """
        if mode not in TRANSLATE_MODES:
            raise ValueError(f"Unknown translate mode {mode!r}; choose one of {TRANSLATE_MODES}.")
        key = ("compiled", mode)
        if key not in self._cache.fns:
            self._cache.fns[key] = tf.function(self.translate_fn(mode), reduce_retracing=True)
        fn = self._cache.fns[key]
        images = tf.convert_to_tensor(images, tf.float32)
        if batch_size is None:
            return fn(images)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}.")
        n = int(images.shape[0])
        return tf.concat([fn(images[i:i + int(batch_size)])
                          for i in range(0, n, int(batch_size))], axis=0)
