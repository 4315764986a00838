"""The one training template every GAN family is built on.

A GAN variant is one ``keras.Model`` subclass that *holds* its networks and
overrides only the hooks where it differs; :class:`GANBase` owns, once, what every
variant must get right:

* **The loop** (:meth:`GANBase.train_step`). Goodfellow et al., "Generative
  Adversarial Nets", NeurIPS 2014, Algorithm 1: ``d_steps`` (k) discriminator
  updates, each on a fresh real minibatch, then one generator update. Families
  that update both players from one shared forward pass (pix2pix, Isola et al.
  2017 Sec. 3.3, as the TensorFlow tutorial does; CycleGAN) set
  ``simultaneous_updates = True``: both gradients are then taken from the weights
  at the start of the step and both optimizers apply them.
* **The hooks** a family overrides, each returning a dict of per-example losses
  and scalars:

  - :meth:`real_slices` ``(data) -> [real, ...]``: one real minibatch per
    discriminator update (validation of the dataset's structure lives here);
  - :meth:`discriminator_loss` ``(real) -> {"d_loss": [batch], ...}``;
  - :meth:`generator_loss` ``(real) -> {"g_loss": [batch], ...}``;
  - :meth:`joint_losses` ``(real) -> (d_values, g_values)``, one forward pass for
    both (defaults to the two hooks above; simultaneous families override it);
  - :meth:`after_discriminator_update` (WGAN weight clipping).

  ``"d_loss"`` / ``"g_loss"`` are what the players minimise; every entry, those
  two included, is reported as its mean (patch maps and per-example vectors
  alike) through one ``keras.metrics.Mean`` per name in ``metric_names``.
* **Replica-correct reduction**: a per-example loss is summed and divided by the
  number of examples over *all* replicas (``tf.nn.compute_average_loss`` with the
  global batch); Keras' optimizer sums gradients over replicas, which gives the
  single-device gradient of the global mean. Reported values are per-example
  means, so no replica scaling appears anywhere.
* **Two optimizers** (``d_optimizer`` / ``g_optimizer``), built inside the active
  strategy's scope at ``compile`` time, so ``fit`` works under
  ``MirroredStrategy`` and ``MultiWorkerMirroredStrategy``.
* **Per-replica noise** from ``tf.random`` ops (Keras seed generators repeat across
  replicas), through :meth:`sample_latent`.
* **Public inspection**: :meth:`gradient_norms` (per-player global gradient norms
  of one batch; no update, no variable changed) and :meth:`generate` with one
  signature for every latent family (conditioning by keyword).

k discriminator steps with any batch size
-----------------------------------------
``fit`` consumes **one dataset batch per generator update**. :meth:`real_slices`
splits it into ``d_steps`` disjoint slices whose sizes differ by at most one (a
batch of 64 with ``d_steps=5`` gives 13, 13, 13, 13, 12), so each critic update
sees fresh real data whatever the batch size, as long as it holds at least
``d_steps`` examples (per replica, under a strategy: each replica splits its own
share). To give each critic step ``m`` examples as in the papers, batch the
dataset with ``m * d_steps`` (the GAN pipeline does). The generator update uses
the size of the last slice.

The Keras pattern follows the keras-io example ``dcgan_overriding_train_step.py``;
the replica handling the TF guide "Custom training with tf.distribute".
"""

import keras
import tensorflow as tf


class Untracked:
    """Plain holder so Keras/TF tracking does not see cached functions and copies."""

    def __init__(self):
        self.fns = {}


def check_num_samples(num_samples):
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}.")
    return num_samples


def latent_for_generation(num_samples, latent_dim, seed=None, noise=None, owner="GAN"):
    """``z`` for ``generate``: given (``[latent_dim]`` broadcast or ``[N, latent_dim]``) or drawn.

    Drawn noise is ``stateless_normal([N, latent_dim], seed=[seed, 0])`` for an int
    ``seed`` (the export's ``sample`` signature draws the same), fresh
    ``tf.random`` otherwise.
    """
    if noise is None:
        if seed is None:
            return tf.random.normal([num_samples, latent_dim])
        return tf.random.stateless_normal([num_samples, latent_dim], seed=[int(seed), 0])
    noise = tf.convert_to_tensor(noise, tf.float32)
    if noise.shape == (latent_dim,):
        return tf.tile(noise[None], [num_samples, 1])
    if noise.shape != (num_samples, latent_dim):
        raise ValueError(
            f"{owner}.generate: noise must have shape [{latent_dim}] (shared by every "
            f"sample) or [{num_samples}, {latent_dim}], got {noise.shape}.")
    return noise


def batch_size_of(structure):
    """The (dynamic) leading dimension of the first tensor in ``structure``."""
    return tf.shape(tf.nest.flatten(structure)[0])[0]


def split_batch(structure, num_slices, owner="GAN"):
    """Splits every tensor of ``structure`` along axis 0 into ``num_slices`` slices.

    Slice sizes differ by at most one: the first ``batch % num_slices`` slices hold
    one example more. A batch smaller than ``num_slices`` fails with a message
    saying so (``ValueError`` when the size is static, an
    ``InvalidArgumentError`` from the step otherwise).

    Returns:
      a list of ``num_slices`` structures like ``structure``.
    """
    if num_slices == 1:
        return [structure]
    flat = [tf.convert_to_tensor(t) for t in tf.nest.flatten(structure)]
    message = (f"{owner}.fit: each dataset batch is split into d_steps={num_slices} slices, "
               "one fresh real minibatch per discriminator update (Goodfellow et al. 2014, "
               f"Alg. 1), so a batch needs at least {num_slices} examples (per replica under "
               "a distribution strategy); got {}. Use a larger batch, e.g. batch_size * "
               "d_steps.")
    static = flat[0].shape[0]
    if static is not None:
        if static < num_slices:
            raise ValueError(message.format(static))
        base, extra = divmod(static, num_slices)
        sizes = [base + (i < extra) for i in range(num_slices)]
    else:
        batch = tf.shape(flat[0])[0]
        check = tf.debugging.assert_greater_equal(
            batch, num_slices, message=message.format("fewer"))
        with tf.control_dependencies([check]):
            sizes = (batch // num_slices
                     + tf.cast(tf.range(num_slices) < batch % num_slices, tf.int32))
    parts = [tf.split(t, sizes, num=num_slices, axis=0) for t in flat]
    return [tf.nest.pack_sequence_as(structure, [p[i] for p in parts])
            for i in range(num_slices)]


class GANBase(keras.Model):
    """The template: holds ``generator`` and ``discriminator``; subclasses override hooks.

    Args:
      generator: ``keras.Model`` mapping latent (and possibly conditioning) inputs,
        or input images, to samples.
      discriminator: ``keras.Model`` returning logits / critic scores, shape
        ``[batch]``, ``[batch, 1]`` or a patch map ``[batch, h, w, 1]`` (or a
        structure of heads; the family's hooks read it).
      latent_dim: size of the noise vector ``z`` (``None`` for models without one,
        e.g. pix2pix, whose noise is dropout).
      **kwargs: passed to ``keras.Model`` (e.g. ``name``).
    """

    #: Names of the values the hooks report; one ``Mean`` tracker each.
    metric_names = ("d_loss", "g_loss")
    #: Keywords ``generate`` accepts besides ``seed`` / ``noise`` / ``batch_size``.
    conditioning = ()
    #: One shared forward pass and both updates from the start-of-step weights.
    simultaneous_updates = False
    #: Row of :data:`tfgan_pipeline.models.presets.PRESETS` that ``compile_preset``
    #: uses when no preset is named.
    default_preset = None

    def __init__(self, generator, discriminator, latent_dim=None, **kwargs):
        super().__init__(**kwargs)
        for role, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, keras.Model):
                raise TypeError(
                    f"{type(self).__name__}'s {role} must be a keras.Model (use the builders "
                    f"in tfgan_pipeline.networks); got {type(net).__name__}.")
        if latent_dim is not None and int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = None if latent_dim is None else int(latent_dim)
        self.d_steps = 1
        self._trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        self._cache = Untracked()
        # The model has no call() of its own to build; its variables are its
        # networks'. Marking it built lets fit()/save skip symbolic building.
        self.built = True

    # ----------------------------------------------------------------- compile
    def compile(self, d_optimizer, g_optimizer, d_steps=1, jit_compile=False, **kwargs):
        """Configures the two optimizers and the number of discriminator updates.

        Args:
          d_optimizer: ``keras.optimizers.Optimizer`` for the discriminator(s).
          g_optimizer: ``keras.optimizers.Optimizer`` for the generator(s).
          d_steps: k, discriminator updates per generator update (>= 1; 1 for
            families with ``simultaneous_updates``).
          jit_compile: XLA for ``train_step``. Off by default: it was slower than
            plain graph execution on the CPUs we measured (see BUILD.md).
          **kwargs: passed to ``keras.Model.compile`` (``steps_per_execution``,
            ``run_eagerly``, ...). ``optimizer``/``loss_weights``/``metrics`` are not
            accepted: a GAN has two optimizers and its losses are chosen by name.

        Optimizers are built here, inside whatever strategy scope ``compile`` runs
        in (call it inside ``strategy.scope()``).
        """
        owner = type(self).__name__
        for bad in ("optimizer", "loss_weights", "metrics"):
            if bad in kwargs:
                raise TypeError(
                    f"{owner}.compile() does not take {bad!r}: pass d_optimizer= and "
                    "g_optimizer= (and the family's loss options).")
        for name, opt in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise TypeError(
                    f"{name} must be a keras.optimizers.Optimizer, got {type(opt).__name__}.")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two different optimizer objects: "
                "each keeps its own slots and step counter.")
        if isinstance(d_steps, bool) or int(d_steps) != d_steps or d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1, got {d_steps!r}.")
        if self.simultaneous_updates and d_steps != 1:
            raise ValueError(
                f"{owner} updates both players from one shared forward pass; d_steps must "
                f"be 1, got {d_steps}.")
        super().compile(jit_compile=jit_compile, **kwargs)
        self.d_steps = int(d_steps)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator_variables)
        self.g_optimizer.build(self.generator_variables)

    # ------------------------------------------------------------- networks
    def generator_networks(self):
        """The networks the generator optimizer trains."""
        return [self.generator]

    def discriminator_networks(self):
        """The networks the discriminator optimizer trains."""
        return [self.discriminator]

    @property
    def generator_variables(self):
        return [v for net in self.generator_networks() for v in net.trainable_variables]

    @property
    def discriminator_variables(self):
        return [v for net in self.discriminator_networks() for v in net.trainable_variables]

    def checkpoint_objects(self):
        """What a checkpoint must hold to resume training exactly (networks, optimizers)."""
        return {"generator": self.generator, "discriminator": self.discriminator,
                "d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer}

    # ---------------------------------------------------------------- hooks
    def real_slices(self, data):
        """Hook: one real minibatch per discriminator update (default: split ``data``)."""
        return split_batch(data, self.d_steps, type(self).__name__)

    def _joint_overridden(self):
        if type(self).joint_losses is GANBase.joint_losses:
            raise NotImplementedError(
                f"{type(self).__name__} must implement discriminator_loss and generator_loss, "
                "or joint_losses.")

    def discriminator_loss(self, real):
        """Hook: ``{"d_loss": per-example loss [batch], ...}`` for one real minibatch
        (default: the D half of an overridden :meth:`joint_losses`)."""
        self._joint_overridden()
        return self.joint_losses(real)[0]

    def generator_loss(self, real):
        """Hook: ``{"g_loss": per-example loss [batch], ...}``; ``real`` as for D
        (default: the G half of an overridden :meth:`joint_losses`)."""
        self._joint_overridden()
        return self.joint_losses(real)[1]

    def joint_losses(self, real):
        """Hook: ``(d_values, g_values)`` at the current weights, for both players.

        The default calls the two hooks (two forward passes); families whose players
        share one forward pass override it.
        """
        return self.discriminator_loss(real), self.generator_loss(real)

    def after_discriminator_update(self):
        """Hook run after every discriminator update (WGAN clips its critic here)."""

    # ------------------------------------------------------------ the loop
    def train_step(self, data):
        slices = self.real_slices(data)
        if self.simultaneous_updates:
            d_values, g_values = self._simultaneous_update(slices[-1])
        else:
            # 1. k discriminator updates, each on a fresh real slice.
            for real in slices:
                d_values = self._update(self.discriminator_loss, real, "d_loss",
                                        self.d_optimizer, self.discriminator_variables)
                self.after_discriminator_update()
            # 2. One generator update.
            g_values = self._update(self.generator_loss, slices[-1], "g_loss",
                                    self.g_optimizer, self.generator_variables)
        return self.report(d_values, g_values)

    def _update(self, loss_fn, real, key, optimizer, variables):
        with tf.GradientTape() as tape:
            values = loss_fn(real)
            loss = self.reduce_loss(values[key])
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return values

    def _simultaneous_update(self, real):
        d_vars, g_vars = self.discriminator_variables, self.generator_variables
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            d_values, g_values = self.joint_losses(real)
            d_loss = self.reduce_loss(d_values["d_loss"])
            g_loss = self.reduce_loss(g_values["g_loss"])
        # Both gradients from the start-of-step weights, then both updates.
        d_grads = d_tape.gradient(d_loss, d_vars)
        g_grads = g_tape.gradient(g_loss, g_vars)
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        self.after_discriminator_update()
        return d_values, g_values

    # ------------------------------------------------------------ reporting
    @property
    def metrics(self):
        return list(self._trackers.values())

    def report(self, *value_dicts):
        """Feeds every value to its tracker (as a per-example mean) and returns all results.

        Under ``MultiWorkerMirroredStrategy`` the results are returned with shape
        ``[1]``: Keras 3.15 reduces a multi-worker step's outputs with
        ``strategy.reduce(MEAN, axis=0)``, which fails on scalars (tensorflow#72388);
        the reduction then yields the usual scalars.
        """
        for values in value_dicts:
            for name, value in values.items():
                if name not in self._trackers:
                    raise KeyError(
                        f"{type(self).__name__} reports {name!r}, which is not in its "
                        f"metric_names {self.metric_names}; add it there.")
                value = tf.cast(value, tf.float32)
                if value.shape.rank == 0:
                    value = value[None]
                self._trackers[name].update_state(value)
        results = {name: t.result() for name, t in self._trackers.items()}
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            results = {name: value[None] for name, value in results.items()}
        return results

    @staticmethod
    def num_replicas():
        return tf.distribute.get_strategy().num_replicas_in_sync

    def reduce_loss(self, per_example_loss):
        """Averages a ``[batch]`` loss over the *global* batch (all replicas).

        Under a strategy each replica holds ``batch / replicas`` examples; dividing
        each replica's sum by the global batch and letting the optimizer sum
        gradients over replicas gives exactly the single-device gradient of the mean.
        (Keras 3's ``fit`` needs the global batch to divide evenly over the replicas:
        it fails on uneven shares before the first step.)
        """
        per_example_loss = tf.cast(per_example_loss, tf.float32)
        global_batch = tf.shape(per_example_loss)[0] * self.num_replicas()
        return tf.nn.compute_average_loss(per_example_loss, global_batch_size=global_batch)

    def sample_latent(self, batch_size):
        """Draws ``z ~ N(0, I)`` of shape ``[batch_size, latent_dim]`` on this replica."""
        return tf.random.normal([batch_size, self.latent_dim])

    # ---------------------------------------------------------- inspection
    def gradient_norms(self, batch):
        """Per-player global gradient norms for one batch: ``{"d_grad_norm", "g_grad_norm"}``.

        The global L2 norm of the gradient of the discriminator loss w.r.t. the
        discriminator's weights and of the generator loss w.r.t. the generator's,
        both at the current weights (:meth:`joint_losses`; with ``d_steps > 1`` on the
        batch's first slice), losses as means over the batch whatever the number of
        replicas. No optimizer update is applied and no variable changes (batch-norm
        statistics and dropout seeds are restored). Noise is freshly drawn.

        Args:
          batch: one batch as ``fit`` sees it (images, ``(images, labels)``,
            ``(input, target)``, ...).

        Returns:
          ``{name: float}``.
        """
        if "gradient_norms" not in self._cache.fns:
            self._cache.fns["gradient_norms"] = tf.function(
                self._gradient_norms, reduce_retracing=True)
        return {k: float(v) for k, v in self._cache.fns["gradient_norms"](batch).items()}

    def _gradient_norms(self, batch):
        nets = self.generator_networks() + self.discriminator_networks()
        variables = [v for net in nets for v in net.variables]
        saved = [tf.identity(v.value) for v in variables]

        def replica_fn(data):
            real = self.real_slices(data)[0]
            with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
                d_values, g_values = self.joint_losses(real)
                # Each replica holds the whole batch: a plain mean is the batch mean.
                d_loss = tf.reduce_mean(tf.cast(d_values["d_loss"], tf.float32))
                g_loss = tf.reduce_mean(tf.cast(g_values["g_loss"], tf.float32))
            return {"d_grad_norm": tf.linalg.global_norm(
                        d_tape.gradient(d_loss, self.discriminator_variables)),
                    "g_grad_norm": tf.linalg.global_norm(
                        g_tape.gradient(g_loss, self.generator_variables))}

        strategy = self.distribute_strategy
        per_replica = strategy.run(replica_fn, args=(batch,))
        norms = {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                 for k, v in per_replica.items()}
        with tf.control_dependencies(list(norms.values())):
            restores = [v.assign(s) for v, s in zip(variables, saved)]
        with tf.control_dependencies(restores):
            return {k: tf.identity(v) for k, v in norms.items()}

    # ------------------------------------------------------------ sampling
    def condition_for_generation(self, num_samples, seed=None, **conditioning):
        """Hook: the generator's conditioning for ``generate`` (``None``: unconditional)."""
        return None

    def generator_inputs(self, z, condition):
        """Hook: the generator's input from ``z`` and a condition (default: ``z``)."""
        return z

    def generate(self, num_samples, *, seed=None, noise=None, batch_size=256, **conditioning):
        """Returns ``num_samples`` generated samples (float32, inference mode).

        One signature for every latent family; conditioning goes by keyword
        (``labels=`` for class-conditional models, ``categorical=`` /
        ``continuous=`` for InfoGAN; see the family's ``conditioning``).

        Args:
          num_samples: how many samples.
          seed: an int makes every drawn part reproducible (``z`` is
            ``stateless_normal(seed=[seed, 0])``, as the export's ``sample``
            signature draws it); ``None`` draws fresh noise.
          noise: optional explicit ``z``: ``[latent_dim]`` (shared by every sample)
            or ``[num_samples, latent_dim]``. Overrides ``seed`` for ``z``.
          batch_size: generator batch size, to bound memory.
          **conditioning: the family's conditioning keywords.

        Raises:
          NotImplementedError: for models without a latent space (pix2pix:
            ``translate``).
          TypeError: for a conditioning keyword the family does not take.
        """
        owner = type(self).__name__
        if self.latent_dim is None:
            raise NotImplementedError(
                f"{owner} has no latent space to sample; call its translate() (or its "
                "generator) on input images.")
        unknown = sorted(set(conditioning) - set(self.conditioning))
        if unknown:
            raise TypeError(
                f"{owner}.generate() got conditioning {unknown} it does not take; it "
                f"accepts {list(self.conditioning) or 'none'} besides seed=, noise=, "
                "batch_size=.")
        num_samples = check_num_samples(num_samples)
        z = latent_for_generation(num_samples, self.latent_dim, seed, noise, owner)
        condition = self.condition_for_generation(num_samples, seed=seed, **conditioning)
        inputs = self.generator_inputs(z, condition)
        out = [tf.cast(self.generator(tf.nest.map_structure(lambda t: t[i:i + batch_size],
                                                            inputs), training=False),
                       tf.float32)
               for i in range(0, num_samples, batch_size)]
        return tf.concat(out, axis=0)

    def call(self, inputs, training=False):
        """Calling the GAN runs its generator (so ``model(z)`` samples)."""
        return self.generator(inputs, training=training)
