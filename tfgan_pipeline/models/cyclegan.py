"""CycleGAN: unpaired image-to-image translation, trained with ``model.fit``.

Paper: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017.

* Objective (Sec. 3, Eq. 3): ``L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda L_cyc(G, F)``
  with ``lambda = 10`` (Sec. 4), ``G: A -> B`` (``generator_ab``), ``F: B -> A``
  (``generator_ba``), ``D_X`` = ``discriminator_a``, ``D_Y`` = ``discriminator_b``;
  ``L_cyc = |F(G(a)) - a|_1 + |G(F(b)) - b|_1``
  (:func:`tfgan_pipeline.losses.cycle_consistency_loss`).
* Least-squares adversarial loss (Sec. 4, "Training details"; Mao et al. 2017):
  D minimises ``(D(y) - 1)^2 + D(G(x))^2``, G minimises ``(D(G(x)) - 1)^2``;
  "we divide the objective by 2 while optimizing D".
* Identity loss (Sec. 5.2, after Taigman et al. 2017): ``|G(b) - b|_1 + |F(a) - a|_1``
  weighted ``0.5 * lambda`` (the authors' code, ``lambda_identity = 0.5``).
* History of generated images (Sec. 4, Shrivastava et al. 2017): each discriminator
  is updated with generated images drawn from a pool of the 50 latest, half the time
  a stored one (:class:`ImagePool`). Under ``MirroredStrategy`` each replica keeps its
  own pool (``ON_READ`` variables: no cross-replica traffic for the pool; a
  checkpoint saves the first replica's, which every replica restores).
* Optimisation (Sec. 4): Adam 2e-4, beta1 0.5, batch 1; "keep the same learning rate
  for the first 100 epochs and linearly decay the rate to zero over the next 100
  epochs": :class:`LinearDecayToZero` over the run's ``train_steps`` (the step counter
  is each optimizer's ``iterations``, so resume restores the schedule position).

Both generators and both discriminators are updated every step from one shared
forward pass (the template's ``simultaneous_updates``, as the TensorFlow CycleGAN
tutorial does); the PyTorch code updates D after G with the new G's outputs, one
optimizer step apart.

Metrics: ``d_loss`` (both halved D objectives), ``g_loss`` (everything G and F
minimise), ``gan_loss_ab`` / ``gan_loss_ba``, ``cycle_loss`` (both directions,
unweighted), ``identity_loss`` (unweighted), ``d_a_real`` / ``d_a_fake`` /
``d_b_real`` / ``d_b_fake`` (mean patch outputs).
"""

import keras
import tensorflow as tf

from tfgan_pipeline import losses as losses_lib
from tfgan_pipeline.models import fused_adam as fused_adam_lib
from tfgan_pipeline.models.base import GANBase

DIRECTIONS = ("a_to_b", "b_to_a")


class ImagePool(tf.Module):
    """The last ``size`` generated images; ``query`` returns a mix of new and stored.

    Shrivastava et al. 2017, Sec. 2.3, as CycleGAN uses it: while the pool is not
    full, each new image is stored and returned; once full, with probability 1/2 a
    random stored image is returned and replaced by the new one, otherwise the new
    image is returned unchanged. ``size = 0`` disables the pool.
    """

    def __init__(self, size, image_shape, name=None):
        super().__init__(name=name)
        self.size = int(size)
        sync = dict(synchronization=tf.VariableSynchronization.ON_READ,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA, trainable=False)
        self.images = tf.Variable(tf.zeros([max(self.size, 1)] + list(image_shape)),
                                  name="images", **sync)
        self.count = tf.Variable(0, dtype=tf.int32, name="count", **sync)

    def query(self, images):
        """Images for the discriminator, one per input image (no gradient)."""
        images = tf.stop_gradient(tf.cast(images, tf.float32))
        if self.size == 0:
            return images
        out = tf.TensorArray(tf.float32, size=tf.shape(images)[0])

        def one(i, out):
            image = images[i]
            count = self.count.read_value()

            def store():
                with tf.control_dependencies([self.images[count].assign(image)]):
                    with tf.control_dependencies([self.count.assign_add(1)]):
                        return tf.identity(image)

            def swap():
                index = tf.random.uniform([], 0, self.size, dtype=tf.int32)
                old = tf.identity(self.images[index])
                with tf.control_dependencies([old]):
                    with tf.control_dependencies([self.images[index].assign(image)]):
                        return tf.identity(old)

            def replace_or_keep():
                return tf.cond(tf.random.uniform([]) < 0.5, swap, lambda: tf.identity(image))

            return i + 1, out.write(i, tf.cond(count < self.size, store, replace_or_keep))

        _, out = tf.while_loop(lambda i, _: i < tf.shape(images)[0], one,
                               (tf.constant(0), out))
        return tf.ensure_shape(out.stack(), images.shape)


@keras.saving.register_keras_serializable(package="tfgan_pipeline")
class LinearDecayToZero(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``learning_rate`` for ``decay_start`` steps, then linear to 0 at ``total_steps``."""

    def __init__(self, learning_rate, total_steps, decay_start=None):
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = int(self.total_steps // 2 if decay_start is None else decay_start)
        if not 0 <= self.decay_start < self.total_steps:
            raise ValueError(f"decay_start ({self.decay_start}) must be in [0, total_steps="
                             f"{self.total_steps}).")

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        left = (self.total_steps - step) / float(self.total_steps - self.decay_start)
        return self.learning_rate * tf.clip_by_value(left, 0.0, 1.0)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start}


class CycleGAN(GANBase):
    """``CycleGAN(generator_ab, generator_ba, discriminator_a, discriminator_b, ...)``.

    Args:
      generator_ab: ``G``, images of domain A -> domain B (the served default).
      generator_ba: ``F``, B -> A.
      discriminator_a: ``D_X``, real-vs-generated on domain A (patch logits).
      discriminator_b: ``D_Y``, on domain B.
      cycle_weight: lambda of the cycle-consistency loss (10).
      identity_weight: weight of the identity loss as a fraction of ``cycle_weight``
        (0.5: the identity term is weighted 5; 0 disables it).
      pool_size: generated images each discriminator's history pool keeps (50).
      image_shape: ``(h, w, c)`` of the training crops (for the pools).
      **kwargs: passed to ``keras.Model``.

    Data: ``fit`` takes ``(images_a, images_b)`` batches of unpaired images (e.g.
    :func:`tfgan_pipeline.data.single.unpaired_dataset`).
    """

    metric_names = ("d_loss", "g_loss", "gan_loss_ab", "gan_loss_ba", "cycle_loss",
                    "identity_loss", "d_a_real", "d_a_fake", "d_b_real", "d_b_fake")
    simultaneous_updates = True
    default_preset = "cyclegan"

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b,
                 cycle_weight=10.0, identity_weight=0.5, pool_size=50,
                 image_shape=(256, 256, 3), **kwargs):
        super().__init__(generator_ab, discriminator_b, latent_dim=None, **kwargs)
        for role, net in (("generator_ba", generator_ba), ("discriminator_a", discriminator_a)):
            if not isinstance(net, keras.Model):
                raise TypeError(f"CycleGAN's {role} must be a keras.Model, got "
                                f"{type(net).__name__}.")
        for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                            ("pool_size", pool_size)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_a = ImagePool(pool_size, image_shape, name="pool_a")
        self.pool_b = ImagePool(pool_size, image_shape, name="pool_b")

    def compile(self, d_optimizer, g_optimizer, gan_loss="least_squares", fused_adam=True,
                **kwargs):
        """Two optimizers (one for both discriminators, one for both generators) and
        the adversarial loss by name (``least_squares`` in the paper). ``fused_adam``:
        update plain Adam optimizers with one fused kernel per variable
        (:mod:`tfgan_pipeline.models.fused_adam`; same formula and state)."""
        self.gan_loss = gan_loss
        self.d_loss_fn, self.g_loss_fn = losses_lib.get_losses(gan_loss)
        super().compile(d_optimizer, g_optimizer, **kwargs)
        if fused_adam:
            fused_adam_lib.fuse(self.d_optimizer)
            fused_adam_lib.fuse(self.g_optimizer)

    # ------------------------------------------------------------- networks
    def generator_networks(self):
        return [self.generator_ab, self.generator_ba]

    def discriminator_networks(self):
        return [self.discriminator_a, self.discriminator_b]

    def checkpoint_objects(self):
        return {"generator_ab": self.generator_ab, "generator_ba": self.generator_ba,
                "discriminator_a": self.discriminator_a, "discriminator_b": self.discriminator_b,
                "d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer,
                "pool_a": self.pool_a, "pool_b": self.pool_b}

    # ---------------------------------------------------------------- hooks
    def real_slices(self, data):
        if isinstance(data, (tuple, list)) and len(data) == 2:
            return [(data[0], data[1])]
        got = (f"a {type(data).__name__} of {len(data)}" if isinstance(data, (tuple, list))
               else type(data).__name__)
        raise ValueError("CycleGAN.fit expects batches of (images_a, images_b), unpaired "
                         f"(e.g. data.single.unpaired_dataset(...)); got {got}.")

    def joint_losses(self, real):
        """One forward pass of both cycles; D sees pooled generated images."""
        a, b = (tf.cast(x, tf.float32) for x in real)
        fake_b = self.generator_ab(a, training=True)
        fake_a = self.generator_ba(b, training=True)
        cycle = (losses_lib.cycle_consistency_loss(a, self.generator_ba(fake_b, training=True))
                 + losses_lib.cycle_consistency_loss(b, self.generator_ab(fake_a, training=True)))
        identity = tf.zeros_like(cycle)
        if self.identity_weight > 0:
            identity = (losses_lib.identity_loss(b, self.generator_ab(b, training=True))
                        + losses_lib.identity_loss(a, self.generator_ba(a, training=True)))

        def score(net, x):
            return tf.cast(net(x, training=True), tf.float32)

        gan_ab = self.g_loss_fn(score(self.discriminator_b, fake_b))
        gan_ba = self.g_loss_fn(score(self.discriminator_a, fake_a))
        real_a, real_b = score(self.discriminator_a, a), score(self.discriminator_b, b)
        pooled_a = score(self.discriminator_a, self.pool_a.query(fake_a))
        pooled_b = score(self.discriminator_b, self.pool_b.query(fake_b))
        d_values = {"d_loss": 0.5 * (self.d_loss_fn(real_a, pooled_a)
                                     + self.d_loss_fn(real_b, pooled_b)),
                    "d_a_real": real_a, "d_a_fake": pooled_a,
                    "d_b_real": real_b, "d_b_fake": pooled_b}
        g_values = {"g_loss": gan_ab + gan_ba + self.cycle_weight * cycle
                    + self.identity_weight * self.cycle_weight * identity,
                    "gan_loss_ab": gan_ab, "gan_loss_ba": gan_ba, "cycle_loss": cycle,
                    "identity_loss": identity}
        return d_values, g_values

    # ---------------------------------------------------------- translation
    def translate(self, images, direction="a_to_b", batch_size=None):
        """Translates images (float32 in [-1, 1]) with ``G`` (``a_to_b``) or ``F``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
        net = self.generator_ab if direction == "a_to_b" else self.generator_ba
        key = ("translate", direction)
        if key not in self._cache.fns:
            self._cache.fns[key] = tf.function(
                lambda x: tf.cast(net(x, training=False), tf.float32), reduce_retracing=True)
        images = tf.convert_to_tensor(images, tf.float32)
        step = int(images.shape[0]) if batch_size is None else int(batch_size)
        return tf.concat([self._cache.fns[key](images[i:i + step])
                          for i in range(0, int(images.shape[0]), step)], axis=0)
