"""Shared base for every GAN training model.

A GAN variant is one ``keras.Model`` subclass that *holds* its networks and
overrides ``train_step``; this base owns what every variant needs and must get
right once:

* two optimizers (``d_optimizer`` / ``g_optimizer``), built inside the active
  distribution strategy's scope at ``compile`` time, so ``model.fit`` works under
  ``tf.distribute.MirroredStrategy`` and ``MultiWorkerMirroredStrategy``;
* replica-correct loss reduction: per-example losses are averaged with the
  *global* batch size (``tf.nn.compute_average_loss``); Keras' optimizer then
  sums gradients over replicas, which yields the gradient of the global mean;
* per-replica noise drawn with ``tf.random`` ops (Keras seed generators repeat
  across replicas), through one overridable method, :meth:`sample_latent`;
* ``keras.metrics.Mean`` trackers by name, exposed through ``metrics`` so that
  ``fit`` resets and reports them;
* :meth:`generate` for sampling after training.

The pattern follows the keras-io example ``dcgan_overriding_train_step.py``; the
replica handling follows the TF guide "Custom training with tf.distribute".
"""

import keras
import tensorflow as tf


class GANBase(keras.Model):
    """Base class: holds ``generator`` and ``discriminator``; subclasses write ``train_step``.

    Args:
      generator: ``keras.Model`` mapping latent (and possibly conditioning) inputs
        to samples.
      discriminator: ``keras.Model`` returning logits / critic scores, shape
        ``[batch]``, ``[batch, 1]`` or a patch map ``[batch, h, w, 1]``.
      latent_dim: size of the noise vector ``z`` (``None`` for models without one,
        e.g. pix2pix, whose noise is dropout).
      **kwargs: passed to ``keras.Model`` (e.g. ``name``).
    """

    #: Names of the scalar metrics ``train_step`` reports; subclasses extend it.
    metric_names = ("d_loss", "g_loss")

    def __init__(self, generator, discriminator, latent_dim=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise TypeError(
                "generator and discriminator must be keras.Model instances (use the "
                "builders in tfgan_pipeline.networks); got "
                f"{type(generator).__name__} and {type(discriminator).__name__}.")
        if latent_dim is not None and int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = None if latent_dim is None else int(latent_dim)
        self._trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        # The model has no call(); its variables are its networks'. Marking it built
        # lets fit()/save skip symbolic building (see the brief's pitfalls).
        self.built = True

    # ----------------------------------------------------------------- compile
    def compile(self, d_optimizer, g_optimizer, jit_compile=False, **kwargs):
        """Configures the two optimizers.

        Args:
          d_optimizer: ``keras.optimizers.Optimizer`` for the discriminator / critic.
          g_optimizer: ``keras.optimizers.Optimizer`` for the generator.
          jit_compile: XLA for ``train_step``. Off by default: it was slower than
            plain graph execution on the CPUs we measured (see BUILD.md).
          **kwargs: passed to ``keras.Model.compile`` (``steps_per_execution``,
            ``run_eagerly``, ...). ``optimizer``/``loss`` are not accepted: a GAN has
            two optimizers and its losses are chosen by name.
        """
        for bad in ("optimizer", "loss_weights", "metrics"):
            if bad in kwargs:
                raise TypeError(
                    f"{type(self).__name__}.compile() does not take {bad!r}: pass "
                    "d_optimizer= and g_optimizer= (and the family's loss options).")
        for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise TypeError(
                    f"{name} must be a keras.optimizers.Optimizer, got {type(opt).__name__}.")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two different optimizer objects: "
                "each keeps its own slots and step counter.")
        super().compile(jit_compile=jit_compile, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Build slot variables now, inside whatever strategy scope compile() runs in,
        # rather than lazily inside a replica context.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    # ------------------------------------------------------------ shared helpers
    @property
    def metrics(self):
        return list(self._trackers.values())

    def update_metrics(self, **values):
        """Updates the named ``Mean`` trackers and returns every tracker's result."""
        for name, value in values.items():
            self._trackers[name].update_state(tf.cast(value, tf.float32))
        return {name: t.result() for name, t in self._trackers.items()}

    @staticmethod
    def num_replicas():
        return tf.distribute.get_strategy().num_replicas_in_sync

    def reduce_loss(self, per_example_loss):
        """Averages a ``[batch]`` loss over the *global* batch (all replicas).

        Under a strategy each replica sees ``batch / replicas`` examples; dividing by
        the global batch and letting the optimizer sum gradients over replicas gives
        exactly the single-device gradient of the mean.
        """
        per_example_loss = tf.cast(per_example_loss, tf.float32)
        global_batch = tf.shape(per_example_loss)[0] * self.num_replicas()
        return tf.nn.compute_average_loss(per_example_loss, global_batch_size=global_batch)

    def sample_latent(self, batch_size):
        """Draws ``z ~ N(0, I)`` of shape ``[batch_size, latent_dim]`` on this replica."""
        return tf.random.normal([batch_size, self.latent_dim])

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        """Differentiates ``loss`` w.r.t. ``variables`` and applies one optimizer step."""
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return grads

    # ------------------------------------------------------------------ sampling
    def generate(self, num_samples, seed=None, batch_size=256):
        """Returns ``num_samples`` generated samples as a float32 tensor.

        Args:
          num_samples: how many samples.
          seed: an int for reproducible samples (stateless RNG); ``None`` draws fresh.
          batch_size: generator batch size, to bound memory.
        """
        if self.latent_dim is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no latent space; call its generator on inputs.")
        num_samples = int(num_samples)
        if num_samples <= 0:
            raise ValueError(f"num_samples must be positive, got {num_samples}.")
        if seed is None:
            z = tf.random.normal([num_samples, self.latent_dim])
        else:
            z = tf.random.stateless_normal([num_samples, self.latent_dim], seed=[int(seed), 0])
        return self.generate_from_latent(z, batch_size=batch_size)

    def generate_from_latent(self, z, batch_size=256):
        """Runs the generator (inference mode) on given latent vectors, in batches."""
        z = tf.convert_to_tensor(z, tf.float32)
        out = [tf.cast(self.generator(z[i:i + batch_size], training=False), tf.float32)
               for i in range(0, int(z.shape[0]), batch_size)]
        return tf.concat(out, axis=0)

    def call(self, inputs, training=False):
        """Calling the GAN runs its generator (so ``model(z)`` samples)."""
        return self.generator(inputs, training=training)
