"""Experiment 5: WGAN's loss as a sample-quality indicator.

Paper: Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017, Sec. 4.2
("Meaningful loss metric"): the critic's estimate of the Earth-Mover distance
"correlates well with the observed visual quality of the generated samples"
(Fig. 3), while the standard GAN discriminator's estimate of the JS divergence
does not (Fig. 4: it stays flat or rises as samples improve).

What runs: on the real MNIST digits, one run per objective and seed of the
library's :class:`~tfgan_pipeline.models.GAN` with MLP networks (Arjovsky et al.
also trained MLP generators; no batch norm in the critic): ``wgan`` (preset: RMSProp
5e-5, k = 5, clipping 0.01) and ``gan`` (preset: non-saturating, Adam 2e-4, k = 1).
At every checkpoint, on a fixed set of real digits and
a fixed batch of generated ones:

* the critic's Wasserstein estimate ``W = E[f(x_real)] - E[f(G(z))]`` (wgan);
* the discriminator's JS estimate ``JSD_hat = (log 4 - L_D) / 2`` from its minimax
  loss ``L_D`` (gan; Goodfellow et al. Thm. 1: ``max_D V = -log 4 + 2 JSD``);
* the Fréchet distance between generated and real digits on the features of a
  digit classifier trained on the real data (:mod:`tfgan_pipeline.evaluation`; not
  comparable with Inception FID).

Measured: the Spearman rank correlation over checkpoints between each loss estimate
and the Fréchet distance (positive: the loss falls as quality improves).
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from tfgan_pipeline import losses, models, networks
from tfgan_pipeline.data import mnist
from tfgan_pipeline.evaluation import frechet_distance
from tfgan_pipeline.experiments import core

TITLE = "WGAN's loss as a sample-quality indicator"
SOURCE = "Arjovsky et al. 2017, Sec. 4.2, Fig. 3-4"

# ---- thresholds, fixed before any run --------------------------------------------
#: "Correlates well": Spearman(critic's W estimate, Fréchet distance) over checkpoints.
MIN_WGAN_RANK_CORRELATION = 0.7
#: "Does not": Spearman(GAN discriminator's JS estimate, Fréchet distance) at most this.
MAX_GAN_RANK_CORRELATION = 0.3

#: objective -> preset: the WGAN critic (weight clipping, Arjovsky et al.'s Alg. 1) and the
#: standard GAN discriminator of the claim. (WGAN-GP was cut to fit the CPU budget.)
OBJECTIVES = {"wgan": "wgan", "gan": "gan"}
LATENT_DIM = 64


@dataclasses.dataclass(frozen=True)
class Budget:
    steps: dict           # generator updates per objective
    checkpoints: int
    batch_size: int       # real examples per D update
    eval_samples: int     # generated and real digits per checkpoint
    hidden_units: tuple
    classifier_epochs: int
    run_eagerly: bool


BUDGETS = {
    "full": Budget(steps={"wgan": 2000, "gan": 2000}, checkpoints=12,
                   batch_size=64, eval_samples=1000, hidden_units=(512, 512),
                   classifier_epochs=2, run_eagerly=False),
    "smoke": Budget(steps={"wgan": 3, "gan": 3}, checkpoints=3, batch_size=8,
                    eval_samples=40, hidden_units=(16,), classifier_epochs=1, run_eagerly=True),
}


def _estimate(model, objective, real, fake):
    """The objective's own loss estimate on fixed real and generated digits."""
    d_real = tf.cast(model.discriminator(real, training=False), tf.float32)
    d_fake = tf.cast(model.discriminator(fake, training=False), tf.float32)
    if objective == "gan":
        d_loss = float(tf.reduce_mean(losses.minimax_discriminator_loss(d_real, d_fake)))
        return {"estimate": (math.log(4.0) - d_loss) / 2.0, "d_loss": d_loss}
    w = float(tf.reduce_mean(d_real) - tf.reduce_mean(d_fake))
    return {"estimate": w, "d_loss": -w}


def _one_run(ctx, budget, objective, seed, real_eval, real_features, extractor):
    core.fresh_session(seed)
    shape = (28, 28, 1)
    model = models.GAN(
        networks.mlp_generator(LATENT_DIM, shape, budget.hidden_units, output_activation="tanh"),
        networks.mlp_discriminator(shape, budget.hidden_units), latent_dim=LATENT_DIM)
    steps = budget.steps[objective]
    every = max(1, steps // budget.checkpoints)
    models.compile_preset(model, OBJECTIVES[objective], steps_per_execution=min(50, every),
                          run_eagerly=budget.run_eagerly)
    data = mnist.mnist_dataset(ctx.mnist_dir, budget.batch_size * model.d_steps, seed=seed)
    curve, done, grids = [], 0, []
    while done < steps:
        n = min(every, steps - done)
        history = model.fit(data, steps_per_epoch=n, epochs=1, verbose=0)
        done += n
        fake = model.generate(budget.eval_samples, seed=7).numpy()
        features, _ = core.classify(extractor, fake)
        point = {"step": done, **_estimate(model, objective, real_eval, fake),
                 "frechet_distance": frechet_distance(features, real_features).value,
                 "train_d_loss": float(history.history["d_loss"][-1])}
        curve.append(point)
        grids.append(fake[:10])
    rho = core.spearman([c["estimate"] for c in curve], [c["frechet_distance"] for c in curve])
    ctx.log(f"{objective} seed {seed}: FD {curve[0]['frechet_distance']:.1f} -> "
            f"{curve[-1]['frechet_distance']:.1f}, estimate {curve[0]['estimate']:.4f} -> "
            f"{curve[-1]['estimate']:.4f}, Spearman {rho:.3f}")
    return {"curve": curve, "spearman": rho}, grids


def run(ctx, budget):
    images, _ = core.load_mnist(ctx.mnist_dir)
    extractor, classifier_info = core.mnist_classifier(ctx, budget.classifier_epochs)
    rng = np.random.default_rng(0)
    real_eval = images[rng.choice(len(images), budget.eval_samples, replace=False)]
    real_features, _ = core.classify(extractor, real_eval)
    runs, grids = {o: {} for o in OBJECTIVES}, {}
    for objective in OBJECTIVES:
        for seed in ctx.seeds:
            runs[objective][seed], run_grids = _one_run(ctx, budget, objective, seed, real_eval,
                                                        real_features, extractor)
            if seed == ctx.seeds[0]:
                grids[objective] = run_grids
    rho = {o: [runs[o][s]["spearman"] for s in ctx.seeds] for o in OBJECTIVES}
    held_w = core.mean_std(rho["wgan"])[0] >= MIN_WGAN_RANK_CORRELATION
    held_g = core.mean_std(rho["gan"])[0] <= MAX_GAN_RANK_CORRELATION
    claims = (
        core.Claim(
            statement="The WGAN critic's Wasserstein estimate tracks sample quality over "
                      "training (falls as the Fréchet distance falls).",
            source=SOURCE, measure="Spearman(W estimate, Fréchet distance) over checkpoints, "
                                   "wgan (clipping)",
            threshold=f"mean >= MIN_WGAN_RANK_CORRELATION = {MIN_WGAN_RANK_CORRELATION}",
            values=tuple(rho["wgan"]), held=bool(held_w),
            note="" if held_w else f"per seed {[round(r, 3) for r in rho['wgan']]}"),
        core.Claim(
            statement="The standard GAN discriminator's loss (its JS estimate) does not track "
                      "sample quality.",
            source=SOURCE, measure="Spearman(JS estimate, Fréchet distance) over checkpoints, "
                                   "gan (non-saturating)",
            threshold=f"mean <= MAX_GAN_RANK_CORRELATION = {MAX_GAN_RANK_CORRELATION}",
            values=tuple(rho["gan"]), held=bool(held_g),
            note="" if held_g else f"per seed {[round(r, 3) for r in rho['gan']]}: the JS "
                                   "estimate does track the Fréchet distance here"),
    )
    rows = []
    for objective in OBJECTIVES:
        ends = [runs[objective][s]["curve"][-1] for s in ctx.seeds]
        starts = [runs[objective][s]["curve"][0] for s in ctx.seeds]
        rows.append([objective, budget.steps[objective], core.pm(rho[objective]),
                     core.pm([s["frechet_distance"] for s in starts]),
                     core.pm([e["frechet_distance"] for e in ends]),
                     core.pm([e["estimate"] for e in ends])])
    _plots(ctx, runs, grids, budget)
    what = (f"Real MNIST ({len(images)} digits); GAN.fit with MLP G and D {budget.hidden_units}, "
            f"latent {LATENT_DIM}, the presets' optimizers ({', '.join(OBJECTIVES)}), "
            f"{budget.batch_size} real digits per D update, G updates "
            f"{budget.steps}; {budget.checkpoints} checkpoints, each scored on "
            f"{budget.eval_samples} fixed real and {budget.eval_samples} generated digits.")
    notes = (f"Fréchet distance on the features of a digit classifier trained "
             f"{classifier_info['epochs']} epoch(s) on the same digits (train accuracy "
             f"{classifier_info['train_accuracy']:.3f}); N = {budget.eval_samples} for both sets, "
             "equal at every checkpoint (FD is biased at small N; only its ranks matter here).",
             "WGAN-GP is left out: at about 1 s per 10 of its G updates on this shared "
             "machine it did not fit the 15-minute budget next to the two objectives of the "
             "claim.")
    table = {"title": "Loss estimate vs Fréchet distance (mean ± std over seeds)",
             "columns": ["objective", "G updates", "Spearman(estimate, FD)", "FD first checkpoint",
                         "FD last checkpoint", "estimate at the end"],
             "rows": rows}
    return core.Outcome(
        what_was_run=what, claims=claims,
        figures={"runs": {o: {str(s): r for s, r in runs[o].items()} for o in OBJECTIVES},
                 "classifier": classifier_info},
        steps={"g_updates": dict(budget.steps)}, notes=notes, tables=(table,))


def _plots(ctx, runs, grids, budget):
    with ctx.figure("estimate_and_fd.png", nrows=len(OBJECTIVES), ncols=2,
                    figsize=(10, 3.2 * len(OBJECTIVES)),
                    caption="Left: each objective's loss estimate (W for the critics, JSD_hat for "
                            "the GAN) over G updates; right: the Fréchet distance at the same "
                            "checkpoints. One line per seed.") as (fig, axes):
        for i, objective in enumerate(OBJECTIVES):
            for seed, r in runs[objective].items():
                steps = [c["step"] for c in r["curve"]]
                axes[i, 0].plot(steps, [c["estimate"] for c in r["curve"]], "o-", ms=3,
                                label=f"seed {seed} (rho {r['spearman']:.2f})")
                axes[i, 1].plot(steps, [c["frechet_distance"] for c in r["curve"]], "o-", ms=3)
            name = "JS estimate" if objective == "gan" else "W estimate"
            axes[i, 0].set(title=f"{objective}: {name}", xlabel="G updates")
            axes[i, 1].set(title=f"{objective}: Fréchet distance", xlabel="G updates",
                           yscale="log")
            axes[i, 0].legend(fontsize=7)
    with ctx.figure("estimate_vs_fd.png", ncols=len(OBJECTIVES),
                    figsize=(4.2 * len(OBJECTIVES), 3.8),
                    caption="Loss estimate against Fréchet distance, one point per checkpoint "
                            "(darker = later).") as (fig, axes):
        for j, objective in enumerate(OBJECTIVES):
            for r in runs[objective].values():
                fd = [c["frechet_distance"] for c in r["curve"]]
                est = [c["estimate"] for c in r["curve"]]
                axes[0, j].scatter(fd, est, c=np.linspace(0.2, 1, len(fd)), cmap="Greys",
                                   edgecolors="k", s=18)
            axes[0, j].set(title=objective, xlabel="Fréchet distance", xscale="log",
                           ylabel="JS estimate" if objective == "gan" else "W estimate")
    for objective, frames in grids.items():
        picks = sorted({0, len(frames) // 4, len(frames) // 2, 3 * len(frames) // 4,
                        len(frames) - 1})
        ctx.save_image_grid(f"samples_{objective}.png", np.concatenate([frames[i] for i in picks]),
                            nrows=len(picks),
                            caption=f"{objective}, seed {ctx.seeds[0]}: samples (fixed z) at "
                                    f"checkpoints {[i + 1 for i in picks]} of "
                                    f"{len(frames)}, top to bottom.")
