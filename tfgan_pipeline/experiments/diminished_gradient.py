"""Experiment 2: the diminished (saturating) generator gradient.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Sec. 3:
"Early in learning, when G is poor, D can reject samples with high confidence
because they are clearly different from the training data. In this case,
log(1 - D(G(z))) saturates. Rather than training G to minimize log(1 - D(G(z))) we
can train G to maximize log D(G(z)). This objective ... provides much stronger
gradients early in learning."

Per generated sample, d/dlogit of the minimax loss ``log(1 - D)`` is ``-D`` and of
the non-saturating ``-log D`` is ``-(1 - D)``, so once D is confident (``D(G(z))``
near 0) the minimax gradient is smaller by the factor ``D / (1 - D)``.

What runs: ring8 (Metz et al. 2017's 8 Gaussians) with the library's toy networks
(MLP G and D, 2 x 128 units, latent 8). G stays at its initialisation (a poor G:
its learning rate is 0) while :class:`~tfgan_pipeline.models.GAN` trains D with the
minimax discriminator loss (``fit``). At log-spaced checkpoints, two GAN objects
that share these very networks — one compiled with ``loss="minimax"``, one with
``loss="non_saturating"`` — report the generator's gradient norm through the
public :meth:`~tfgan_pipeline.models.GANBase.gradient_norms` (current weights, no
update), averaged over a few fresh batches, next to D's accuracy on real vs
generated samples.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfgan_pipeline import models, networks
from tfgan_pipeline.data import toy
from tfgan_pipeline.experiments import core

TITLE = "Diminished generator gradient (saturating vs non-saturating loss)"
SOURCE = "Goodfellow et al. 2014, Sec. 3"

# ---- thresholds, fixed before any run --------------------------------------------
#: D counts as "confident" from this accuracy on (real, generated) samples on (issue 12).
CONFIDENT_ACCURACY = 0.99
#: "Orders of magnitude": minimax / non-saturating generator gradient norm at most this
#: (two orders), at the end of D's training, when D's accuracy is >= CONFIDENT_ACCURACY.
MAX_GRADIENT_RATIO = 1e-2

LATENT_DIM = 8
LEARNING_RATE = 1e-3  # the library's toy learning rate (pipeline/gan.py)


@dataclasses.dataclass(frozen=True)
class Budget:
    d_steps: int          # discriminator updates in total
    checkpoints: tuple    # D-update counts at which gradients are measured
    batch_size: int
    eval_batches: int     # gradient_norms calls averaged per checkpoint
    eval_samples: int     # samples for D's accuracy
    hidden_units: tuple
    run_eagerly: bool


BUDGETS = {
    "full": Budget(d_steps=2000, checkpoints=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
                   batch_size=256, eval_batches=4, eval_samples=4096, hidden_units=(128, 128),
                   run_eagerly=False),
    "smoke": Budget(d_steps=4, checkpoints=(0, 2, 4), batch_size=16, eval_batches=1,
                    eval_samples=64, hidden_units=(8,), run_eagerly=True),
}


def _measure(minimax, non_saturating, mixture, budget, seed, step):
    """D's accuracy and both generator gradient norms at the current weights."""
    real = mixture.sample(budget.eval_samples, seed=10_000 + seed * 1000 + step)
    fake = minimax.generator(tf.random.normal([budget.eval_samples, LATENT_DIM]),
                             training=False)
    d_real = np.asarray(minimax.discriminator(real, training=False))[:, 0]
    d_fake = np.asarray(minimax.discriminator(fake, training=False))[:, 0]
    accuracy = 0.5 * (np.mean(d_real > 0) + np.mean(d_fake < 0))
    norms = {"minimax": [], "non_saturating": []}
    for i in range(budget.eval_batches):
        batch = tf.constant(mixture.sample(budget.batch_size, seed=20_000 + 97 * step + i))
        norms["minimax"].append(minimax.gradient_norms(batch)["g_grad_norm"])
        norms["non_saturating"].append(non_saturating.gradient_norms(batch)["g_grad_norm"])
    d_of_fake = 1.0 / (1.0 + np.exp(-d_fake.astype(np.float64)))
    return {"step": step, "d_accuracy": float(accuracy),
            "mean_d_of_fake": float(d_of_fake.mean()),
            "g_grad_norm_minimax": float(np.mean(norms["minimax"])),
            "g_grad_norm_non_saturating": float(np.mean(norms["non_saturating"])),
            "ratio": float(np.mean(norms["minimax"]) /
                           max(np.mean(norms["non_saturating"]), 1e-30))}


def _one_seed(ctx, budget, seed):
    core.fresh_session(seed)
    mixture = toy.ring8()
    generator = networks.mlp_generator(LATENT_DIM, (2,), budget.hidden_units)
    discriminator = networks.mlp_discriminator((2,), budget.hidden_units)
    # Two models over the same two networks: the losses differ, the weights are shared.
    minimax = models.GAN(generator, discriminator, latent_dim=LATENT_DIM)
    non_saturating = models.GAN(generator, discriminator, latent_dim=LATENT_DIM)
    models.compile_preset(minimax, "gan", loss="minimax", d_learning_rate=LEARNING_RATE,
                          g_learning_rate=0.0, run_eagerly=budget.run_eagerly)
    models.compile_preset(non_saturating, "gan", loss="non_saturating")
    data = mixture.dataset(budget.batch_size, seed=seed)
    curve, done = [], 0
    for checkpoint in budget.checkpoints:
        if checkpoint > done:
            minimax.fit(data, steps_per_epoch=checkpoint - done, epochs=1, verbose=0)
            done = checkpoint
        curve.append(_measure(minimax, non_saturating, mixture, budget, seed, done))
    end = curve[-1]
    ctx.log(f"seed {seed}: D accuracy {end['d_accuracy']:.4f}, mean D(G(z)) "
            f"{end['mean_d_of_fake']:.2e}, |grad G| minimax {end['g_grad_norm_minimax']:.3e} vs "
            f"non-saturating {end['g_grad_norm_non_saturating']:.3e} (ratio {end['ratio']:.2e})")
    return curve


def run(ctx, budget):
    curves = {seed: _one_seed(ctx, budget, seed) for seed in ctx.seeds}
    ends = [curves[s][-1] for s in ctx.seeds]
    ratios = [e["ratio"] for e in ends]
    accuracies = [e["d_accuracy"] for e in ends]
    confident = min(accuracies) >= CONFIDENT_ACCURACY
    mean_ratio = core.mean_std(ratios)[0]
    held = bool(confident and mean_ratio <= MAX_GRADIENT_RATIO)
    first_confident = []
    for s in ctx.seeds:
        hits = [c for c in curves[s] if c["d_accuracy"] >= CONFIDENT_ACCURACY]
        first_confident.append(hits[0] if hits else None)
    at_first = [None if c is None else (c["step"], round(c["ratio"], 6)) for c in first_confident]
    note = (f"D accuracy at the end {[round(a, 4) for a in accuracies]}; (D updates, ratio) at "
            f"the first checkpoint with accuracy >= {CONFIDENT_ACCURACY}: {at_first}")
    if not confident:
        note = (f"precondition not met: D reached accuracy {accuracies} < {CONFIDENT_ACCURACY}. "
                + note)
    claims = (core.Claim(
        statement="Against a confident discriminator (>= 99% accuracy) the saturating minimax "
                  "generator loss log(1 - D(G(z))) gives a gradient orders of magnitude smaller "
                  "than the non-saturating -log D(G(z)).",
        source=SOURCE,
        measure="|grad_G| minimax / |grad_G| non-saturating (end of D training)",
        threshold=(f"D accuracy >= CONFIDENT_ACCURACY = {CONFIDENT_ACCURACY} on every seed and "
                   f"mean ratio <= MAX_GRADIENT_RATIO = {MAX_GRADIENT_RATIO}"),
        values=tuple(ratios), held=held, note=note),)
    _plots(ctx, curves)
    what = (f"ring8, MLP G and D {budget.hidden_units}, latent {LATENT_DIM}; G frozen at its "
            f"initialisation; D trained by GAN.fit (minimax D loss, Adam lr {LEARNING_RATE}, "
            f"batch {budget.batch_size}) for {budget.d_steps} updates; generator gradient norms "
            f"from gradient_norms() of a minimax and a non-saturating GAN sharing the networks, "
            f"mean of {budget.eval_batches} batches per checkpoint.")
    return core.Outcome(
        what_was_run=what, claims=claims,
        figures={"curves": {str(s): c for s, c in curves.items()}},
        steps={"d_updates": budget.checkpoints[-1], "g_updates": 0})


def _plots(ctx, curves):
    with ctx.figure("gradient_vs_accuracy.png", ncols=2, figsize=(11, 4.2),
                    caption="Generator gradient norm (log scale) under the minimax (saturating) "
                            "and non-saturating losses, against D's accuracy (left) and D "
                            "updates (right); one line per seed.") as (fig, axes):
        for seed, curve in curves.items():
            acc = [c["d_accuracy"] for c in curve]
            steps = [max(c["step"], 0.5) for c in curve]
            for key, color in (("minimax", "tab:red"), ("non_saturating", "tab:blue")):
                values = [max(c[f"g_grad_norm_{key}"], 1e-30) for c in curve]
                label = key.replace("_", "-") if seed == min(curves) else None
                axes[0, 0].plot(acc, values, "o-", color=color, alpha=0.7, label=label, ms=3)
                axes[0, 1].plot(steps, values, "o-", color=color, alpha=0.7, label=label, ms=3)
        axes[0, 0].axvline(CONFIDENT_ACCURACY, color="k", ls=":", label="99% accuracy")
        axes[0, 0].set(xlabel="D accuracy (real vs generated)", ylabel="|grad_G loss|",
                       yscale="log")
        axes[0, 1].set(xlabel="D updates (log; 0 plotted at 0.5)", ylabel="|grad_G loss|",
                       yscale="log", xscale="log")
        axes[0, 0].legend()
    with ctx.figure("ratio.png", caption="Ratio of the two gradient norms (minimax / "
                    "non-saturating) against D's accuracy; the dotted line is the threshold "
                    "1e-2.") as (fig, ax):
        for seed, curve in curves.items():
            ax[0, 0].plot([c["d_accuracy"] for c in curve],
                          [max(c["ratio"], 1e-30) for c in curve], "o-", label=f"seed {seed}")
        ax[0, 0].axhline(MAX_GRADIENT_RATIO, color="k", ls=":")
        ax[0, 0].set(xlabel="D accuracy", ylabel="minimax / non-saturating", yscale="log")
        ax[0, 0].legend()
