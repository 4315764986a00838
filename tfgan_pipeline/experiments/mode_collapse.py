"""Experiment 4: mode collapse on 2-D Gaussian mixtures, six objectives.

Papers: Metz, Poole, Pfau, Sohl-Dickstein, "Unrolled Generative Adversarial
Networks", ICLR 2017, Sec. 3.1 and Fig. 1 (a standard GAN on the ring of 8
Gaussians covers one mode at a time); the counting protocol of Srivastava et al.,
"VEEGAN", NeurIPS 2017, Sec. 5.1 (grid of 25; modes covered, high-quality
samples). The objectives: Goodfellow et al. 2014 (minimax; non-saturating, Sec. 3),
Mao et al. 2017 (least squares), Lim & Ye 2017 / Miyato et al. 2018 (hinge),
Arjovsky et al. 2017 (WGAN, weight clipping), Gulrajani et al. 2017 (WGAN-GP).

What runs: for ring8 and grid25 (:mod:`tfgan_pipeline.data.toy`), each objective
and each seed, the library's :class:`~tfgan_pipeline.models.GAN` with the GAN job's
toy set-up (:mod:`tfgan_pipeline.pipeline.gan`: MLP G and D of 2 x 128 units,
latent 8, 64 real examples per D update, learning rate 1e-3 for both players on
the objective's preset optimizers — Adam (0.5, 0.999) for gan, RMSProp for wgan,
Adam (0.5, 0.9) for wgan_gp — and the preset's k, clip and penalty). At every
checkpoint 2,500 samples from ``generate`` are scored by
:func:`tfgan_pipeline.evaluation.toy_mode_coverage` (nearest mode; high quality
within 3 std; a mode is covered with >= 1% of its expected count of high-quality
samples).
"""

import dataclasses

import numpy as np

from tfgan_pipeline import models, networks
from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import toy_mode_coverage
from tfgan_pipeline.experiments import core

TITLE = "Mode collapse on ring8 and grid25"
SOURCE = "Metz et al. 2017, Sec. 3.1, Fig. 1; VEEGAN (Srivastava et al. 2017), Sec. 5.1"

# ---- thresholds, fixed before any run --------------------------------------------
#: A (toy, objective) "drops modes" when its mean final coverage is below this fraction.
DROPPED_BELOW = 0.9
#: The claim is about the standard GAN objectives of Goodfellow et al. 2014.
STANDARD_OBJECTIVES = ("minimax", "non_saturating")

#: name -> (preset, compile overrides)
OBJECTIVES = {
    "minimax": ("gan", {"loss": "minimax"}),
    "non_saturating": ("gan", {"loss": "non_saturating"}),
    "least_squares": ("gan", {"loss": "least_squares"}),
    "hinge": ("gan", {"loss": "hinge"}),
    "wgan": ("wgan", {}),
    "wgan_gp": ("wgan_gp", {}),
}
TOYS = ("ring8", "grid25")
LATENT_DIM = 8
LEARNING_RATE = 1e-3  # the GAN job's toy learning rate (pipeline/gan.py)


@dataclasses.dataclass(frozen=True)
class Budget:
    steps: int            # generator updates per run
    checkpoints: int
    batch_size: int       # real examples per D update
    eval_samples: int
    hidden_units: tuple
    run_eagerly: bool


BUDGETS = {
    "full": Budget(steps=5000, checkpoints=10, batch_size=64, eval_samples=2500,
                   hidden_units=(128, 128), run_eagerly=False),
    "smoke": Budget(steps=2, checkpoints=1, batch_size=10, eval_samples=200,
                    hidden_units=(8,), run_eagerly=True),
}


def _one_run(budget, toy_name, objective, seed):
    core.fresh_session(seed)
    mixture = toy.get_toy(toy_name)
    model = models.GAN(networks.mlp_generator(LATENT_DIM, (2,), budget.hidden_units),
                       networks.mlp_discriminator((2,), budget.hidden_units),
                       latent_dim=LATENT_DIM)
    preset, overrides = OBJECTIVES[objective]
    every = max(1, budget.steps // budget.checkpoints)
    models.compile_preset(model, preset, learning_rate=LEARNING_RATE,
                          steps_per_execution=min(100, every), run_eagerly=budget.run_eagerly,
                          **overrides)
    data = mixture.dataset(budget.batch_size * model.d_steps, seed=seed)
    curve, done = [], 0
    while done < budget.steps:
        n = min(every, budget.steps - done)
        model.fit(data, steps_per_epoch=n, epochs=1, verbose=0)
        done += n
        samples = model.generate(budget.eval_samples, seed=1000 + seed).numpy()
        coverage = toy_mode_coverage(samples, mixture)
        curve.append({"step": done, **coverage.to_dict()})
    return curve, samples, mixture


def run(ctx, budget):
    runs = {toy_name: {obj: {} for obj in OBJECTIVES} for toy_name in TOYS}
    finals = {toy_name: {} for toy_name in TOYS}
    for toy_name in TOYS:
        for objective in OBJECTIVES:
            for seed in ctx.seeds:
                curve, samples, mixture = _one_run(budget, toy_name, objective, seed)
                runs[toy_name][objective][seed] = curve
                finals[toy_name][(objective, seed)] = samples
                end = curve[-1]
                ctx.log(f"{toy_name} {objective} seed {seed}: {end['modes_covered']}/"
                        f"{end['num_modes']} modes, high quality "
                        f"{end['high_quality_fraction']:.3f}")
        _scatter(ctx, toy_name, finals[toy_name], mixture)

    def final(toy_name, objective, key):
        return [runs[toy_name][objective][s][-1][key] for s in ctx.seeds]

    rows, dropped = [], {}
    for toy_name in TOYS:
        k = toy.get_toy(toy_name).num_modes
        for objective in OBJECTIVES:
            covered = final(toy_name, objective, "modes_covered")
            fraction = core.mean_std(covered)[0] / k
            dropped[(toy_name, objective)] = fraction < DROPPED_BELOW
            rows.append([toy_name, objective, f"{core.pm(covered)} / {k}",
                         str(covered), core.pm(final(toy_name, objective, "high_quality_fraction")),
                         core.pm(final(toy_name, objective, "reverse_kl")),
                         "yes" if fraction < DROPPED_BELOW else "no"])
    standard = {(t, o): core.mean_std(final(t, o, "modes_covered"))[0] / toy.get_toy(t).num_modes
                for t in TOYS for o in STANDARD_OBJECTIVES}
    worst = min(standard, key=standard.get)
    worst_k = toy.get_toy(worst[0]).num_modes
    values = [c / worst_k for c in final(worst[0], worst[1], "modes_covered")]
    held = standard[worst] < DROPPED_BELOW
    summary = "; ".join(f"{t}/{o} {standard[(t, o)]:.2f}" for t, o in standard)
    claims = (core.Claim(
        statement="GANs drop modes: a GAN with a standard objective (minimax or non-saturating) "
                  "covers fewer than 90% of the modes of ring8 or grid25.",
        source=SOURCE,
        measure=f"fraction of modes covered at the end, worst standard run ({worst[0]}, "
                f"{worst[1]})",
        threshold=(f"held if the mean over seeds is < DROPPED_BELOW = {DROPPED_BELOW} for some "
                   f"toy and objective in STANDARD_OBJECTIVES = {STANDARD_OBJECTIVES}"),
        values=tuple(values), held=bool(held),
        note=f"mean fraction covered: {summary}" + (
            "" if held else " — every standard run covers >= 90% of the modes")),)
    _curves(ctx, runs)
    what = (f"ring8 and grid25; GAN.fit with six objectives {tuple(OBJECTIVES)} on the GAN "
            f"job's toy set-up (MLP {budget.hidden_units}, latent {LATENT_DIM}, lr "
            f"{LEARNING_RATE}, {budget.batch_size} real examples per D update, the presets' "
            f"optimizers, k, clip and penalty), {budget.steps} G updates; mode coverage of "
            f"{budget.eval_samples} samples at {budget.checkpoints} checkpoints.")
    table = {"title": "Final mode coverage per toy and objective (mean ± std over seeds)",
             "columns": ["toy", "objective", "modes covered", "per seed",
                         "high-quality fraction", "reverse KL of the mode histogram",
                         f"drops modes (< {DROPPED_BELOW:.0%})"],
             "rows": rows}
    return core.Outcome(
        what_was_run=what, claims=claims,
        figures={"curves": {t: {o: {str(s): c for s, c in runs[t][o].items()}
                                for o in OBJECTIVES} for t in TOYS},
                 "drops_modes": {f"{t}/{o}": d for (t, o), d in dropped.items()}},
        steps={"g_updates": budget.steps}, tables=(table,))


def _scatter(ctx, toy_name, finals, mixture):
    seeds = sorted({s for _, s in finals})
    with ctx.figure(f"samples_{toy_name}.png", nrows=len(OBJECTIVES), ncols=len(seeds),
                    figsize=(2.4 * len(seeds), 2.3 * len(OBJECTIVES)),
                    caption=f"{toy_name}: final samples (blue) and the mode centres (red), one "
                            "row per objective, one column per seed.") as (fig, axes):
        lim = np.abs(mixture.centers).max() * 1.5 + 0.5
        for i, objective in enumerate(OBJECTIVES):
            for j, seed in enumerate(seeds):
                ax = axes[i, j]
                samples = finals[(objective, seed)]
                ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.3, color="tab:blue")
                ax.scatter(mixture.centers[:, 0], mixture.centers[:, 1], s=6, color="tab:red")
                ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[])
                if j == 0:
                    ax.set_ylabel(objective, fontsize=8)
                if i == 0:
                    ax.set_title(f"seed {seed}", fontsize=8)


def _curves(ctx, runs):
    with ctx.figure("coverage_over_training.png", nrows=2, ncols=len(TOYS),
                    figsize=(5.5 * len(TOYS), 7),
                    caption="Modes covered (top) and high-quality fraction (bottom) over "
                            "training: mean over seeds, shaded min..max.") as (fig, axes):
        for j, toy_name in enumerate(TOYS):
            for objective in OBJECTIVES:
                seeds = runs[toy_name][objective]
                steps = [c["step"] for c in next(iter(seeds.values()))]
                for i, key in enumerate(("modes_covered", "high_quality_fraction")):
                    values = np.array([[c[key] for c in curve] for curve in seeds.values()],
                                      np.float64)
                    line, = axes[i, j].plot(steps, values.mean(0), label=objective)
                    axes[i, j].fill_between(steps, values.min(0), values.max(0),
                                            color=line.get_color(), alpha=0.15)
            k = toy.get_toy(toy_name).num_modes
            axes[0, j].axhline(k, color="k", ls=":")
            axes[0, j].set(title=toy_name, ylabel=f"modes covered (of {k})")
            axes[1, j].set(xlabel="G updates", ylabel="high-quality fraction", ylim=(0, 1))
        axes[0, 0].legend(fontsize=7)
