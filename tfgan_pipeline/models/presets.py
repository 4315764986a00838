"""Paper hyper-parameters, one table: family -> optimizers, d_steps, penalty, clip, loss.

Each row of :data:`PRESETS` cites where its numbers come from. ``compile_preset``
builds the optimizers *with* the wanted learning rates (overrides included), so no
learning rate is ever assigned after ``compile``; call it inside the strategy
scope the model was built in.

Rows:
  * ``gan`` — Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014,
    Alg. 1 with k = 1 ("k = 1, the least expensive option, in our experiments")
    and the non-saturating generator loss of Sec. 3. The paper used SGD with
    momentum; Adam 2e-4 / beta1 0.5 as in DCGAN is the modern default.
  * ``dcgan`` — Radford, Metz, Chintala, ICLR 2016, Sec. 4 ("Details of
    adversarial training"): Adam, learning rate 0.0002, beta1 0.5.
  * ``wgan`` — Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017, Alg. 1:
    RMSProp alpha = 5e-5, clipping c = 0.01, n_critic = 5.
  * ``wgan_gp`` — Gulrajani et al., "Improved Training of Wasserstein GANs",
    NeurIPS 2017, Alg. 1: lambda = 10, n_critic = 5, Adam alpha = 1e-4, beta2 = 0.9;
    beta1 = 0.5 as in the authors' reference code (Alg. 1 lists beta1 = 0).
  * ``cgan`` — Mirza & Osindero 2014, Sec. 3.2 objective; their SGD schedule is
    not reproduced: DCGAN's Adam (2e-4, beta1 0.5).
  * ``acgan`` — Odena, Olah, Shlens, ICML 2017, appendix (Adam 2e-4, beta1 0.5;
    class loss weight 1).
  * ``infogan`` — Chen et al., NeurIPS 2016, appendix C.1: Adam, D (and Q) 2e-4,
    G 1e-3, beta1 0.5; lambda 1 for categorical codes, smaller (0.1) for continuous.
  * ``pix2pix`` — Isola et al., CVPR 2017, Sec. 3.3: Adam, learning rate 0.0002,
    beta1 0.5, beta2 0.999; minimax D loss halved, non-saturating G loss.
  * ``cyclegan`` — Zhu et al., ICCV 2017, Sec. 4: Adam 2e-4, beta1 0.5, least-squares
    GAN loss, lambda 10 (the model's default); the learning-rate schedule (constant,
    then linear to 0) is passed as ``learning_rate=`` (``models.LinearDecayToZero``).
"""

import dataclasses
import types

import keras

from tfgan_pipeline.models.acgan import ACGAN
from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.cgan import ConditionalGAN
from tfgan_pipeline.models.cyclegan import CycleGAN
from tfgan_pipeline.models.gan import GAN
from tfgan_pipeline.models.infogan import InfoGAN
from tfgan_pipeline.models.pix2pix import Pix2Pix

@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a preset: ``name`` (``adam`` | ``rmsprop``) and its settings."""

    name: str
    learning_rate: float
    beta_1: float = 0.9
    beta_2: float = 0.999

    def build(self, learning_rate=None):
        """A fresh optimizer; ``learning_rate`` (a number or a Keras schedule) replaces
        the paper's when given."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        if isinstance(lr, (int, float)):
            lr = float(lr)
        if self.name == "adam":
            return keras.optimizers.Adam(learning_rate=lr, beta_1=self.beta_1,
                                         beta_2=self.beta_2)
        if self.name == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate=lr)
        raise ValueError(f"Unknown optimizer {self.name!r}; use 'adam' or 'rmsprop'.")


def adam(learning_rate, beta_1=0.5, beta_2=0.999):
    return OptimizerSpec("adam", learning_rate, beta_1, beta_2)


def rmsprop(learning_rate):
    return OptimizerSpec("rmsprop", learning_rate)


@dataclasses.dataclass(frozen=True)
class Preset:
    """One row: the model class it fits, its two optimizers and ``compile`` options."""

    paper: str
    model: type
    d_optimizer: OptimizerSpec
    g_optimizer: OptimizerSpec
    options: types.MappingProxyType  # compile kwargs: loss, d_steps, penalty, clip, ...

    @property
    def d_steps(self):
        return self.options.get("d_steps", 1)


def _row(paper, model, d_optimizer, g_optimizer=None, **options):
    return Preset(paper, model, d_optimizer, g_optimizer or d_optimizer,
                  types.MappingProxyType(options))


#: name -> :class:`Preset`.
PRESETS = types.MappingProxyType({
    "gan": _row("Goodfellow et al. 2014, Alg. 1 (k = 1), Sec. 3; Adam as in DCGAN",
                GAN, adam(2e-4), loss="non_saturating", d_steps=1),
    "dcgan": _row("Radford et al. 2016, Sec. 4", GAN, adam(2e-4),
                  loss="non_saturating", d_steps=1),
    "wgan": _row("Arjovsky et al. 2017, Alg. 1", GAN, rmsprop(5e-5),
                 loss="wasserstein", d_steps=5, clip_value=0.01),
    "wgan_gp": _row("Gulrajani et al. 2017, Alg. 1 (beta1 0.5 as in their code)", GAN,
                    adam(1e-4, 0.5, 0.9), loss="wasserstein", d_steps=5,
                    gradient_penalty_weight=10.0),
    "cgan": _row("Mirza & Osindero 2014, Sec. 3.2; Adam as in DCGAN", ConditionalGAN,
                 adam(2e-4), loss="non_saturating", d_steps=1),
    "acgan": _row("Odena et al. 2017, Sec. 3 and appendix", ACGAN, adam(2e-4),
                  loss="non_saturating", d_steps=1, class_loss_weight=1.0),
    "infogan": _row("Chen et al. 2016, Sec. 5 and appendix C.1", InfoGAN, adam(2e-4),
                    adam(1e-3), loss="non_saturating", d_steps=1, categorical_weight=1.0,
                    continuous_weight=0.1),
    "pix2pix": _row("Isola et al. 2017, Sec. 3.3", Pix2Pix, adam(2e-4), gan_loss="vanilla"),
    "cyclegan": _row("Zhu et al. 2017, Sec. 4", CycleGAN, adam(2e-4), gan_loss="least_squares"),
})


def get_preset(name):
    """The :class:`Preset` called ``name``, or a ``ValueError`` naming the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}.") from None


def build_optimizers(name, d_learning_rate=None, g_learning_rate=None):
    """Fresh ``(d_optimizer, g_optimizer)`` of preset ``name`` (build them in the strategy scope)."""
    row = get_preset(name)
    return row.d_optimizer.build(d_learning_rate), row.g_optimizer.build(g_learning_rate)


def compile_preset(model, preset=None, *, learning_rate=None, d_learning_rate=None,
                   g_learning_rate=None, **overrides):
    """Compiles ``model`` with a paper's optimizers and objective.

    Args:
      model: a :class:`~tfgan_pipeline.models.base.GANBase` subclass instance.
      preset: a row of :data:`PRESETS`; ``None`` takes the model class's
        ``default_preset`` (``GAN`` -> ``gan``, ``ConditionalGAN`` -> ``cgan``,
        ``ACGAN`` -> ``acgan``, ``InfoGAN`` -> ``infogan``, ``Pix2Pix`` -> ``pix2pix``).
      learning_rate: replaces both optimizers' learning rate.
      d_learning_rate, g_learning_rate: replace one optimizer's (win over
        ``learning_rate``).
      **overrides: ``compile`` arguments that replace the preset's (``loss=``,
        ``d_steps=``, ``steps_per_execution=``, ``eval_mode=``, ...).

    Returns:
      ``model``, compiled.

    Raises:
      ValueError: for an unknown preset, or one written for another model class.
    """
    if not isinstance(model, GANBase):
        raise TypeError(f"compile_preset needs a GANBase model, got {type(model).__name__}.")
    name = preset or model.default_preset
    if name is None:
        raise ValueError(f"{type(model).__name__} has no default preset; name one of "
                         f"{sorted(PRESETS)}.")
    row = get_preset(name)
    if not isinstance(model, row.model):
        fitting = sorted(k for k, r in PRESETS.items() if isinstance(model, r.model))
        raise ValueError(
            f"Preset {name!r} is for {row.model.__name__} models, not "
            f"{type(model).__name__}; presets that fit it: {fitting}.")
    d_optimizer, g_optimizer = build_optimizers(
        name, d_learning_rate if d_learning_rate is not None else learning_rate,
        g_learning_rate if g_learning_rate is not None else learning_rate)
    model.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                  **{**row.options, **overrides})
    return model
