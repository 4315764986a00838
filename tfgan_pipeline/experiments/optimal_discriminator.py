"""Experiment 1: the optimal discriminator and the value at the optimum.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Sec. 4.1:
Prop. 1 (for a fixed G the optimal discriminator is
``D*(x) = p_data(x) / (p_data(x) + p_g(x))``) and Thm. 1 (the value at D* is
``C(G) = -log 4 + 2 JSD(p_data || p_g)``, whose minimum ``-log 4`` is reached
exactly when ``p_g = p_data``).

What runs: the library's :class:`~tfgan_pipeline.models.GAN` (minimax loss, its
``fit``) with an MLP discriminator (:func:`tfgan_pipeline.networks.mlp_discriminator`)
and a 1-D affine generator ``G(z) = a z + b`` (:func:`core.affine_generator`), whose
``p_g = N(b, a^2)`` is known exactly, so D*, V(D, G) and C(G) are computed on a grid
with :mod:`tfgan_pipeline.evaluation.theory` at every checkpoint:

* Part A (Prop. 1 and the value at D*): G frozen (its learning rate is 0) at
  ``N(0.5, 1.25^2)``; ``p_data`` the two-mode mixture ``0.5 N(-1.5, 0.5^2) + 0.5
  N(1.5, 0.5^2)`` (JSD 0.153 nats, C(G) = -1.080); D trained alone.
* Part B (Thm. 1's global optimum): G trained too, k = 5 discriminator steps per
  generator step (Alg. 1), towards ``p_data = N(1.5, 0.5^2)``, which an affine G can
  reach; the trained value V(D, G) should end at -log 4.

|D - D*| is averaged over the grid points where ``p_data + p_g > 0.05`` (outside,
neither player has samples to learn from).
"""

import dataclasses
import math

import numpy as np

from tfgan_pipeline import models, networks
from tfgan_pipeline.data import toy
from tfgan_pipeline.evaluation import theory
from tfgan_pipeline.experiments import core

TITLE = "Optimal discriminator and the value at the optimum"
SOURCE = "Goodfellow et al. 2014, Sec. 4.1, Prop. 1 and Thm. 1"

# ---- thresholds, fixed before any run --------------------------------------------
#: Prop. 1 (G fixed): mean |D - D*| over the high-density region after training.
MAX_MEAN_ABS_D_ERROR = 0.05
#: Thm. 1 (G fixed): C(G) - V(D, G) after training, nats (0 iff D = D* where it matters).
MAX_VALUE_GAP = 0.01
#: Thm. 1 (G trained, p_data reachable): |V(D, G) - (-log 4)| at the end, nats.
MAX_DISTANCE_TO_MINUS_LOG4 = 0.02
#: Grid points with p_data + p_g above this are "the high-density region".
REGION_DENSITY = 0.05

P_DATA_A = dict(means=(-1.5, 1.5), stds=0.5)
P_G_A = (0.5, 1.25)  # (mean, std) of the frozen generator
P_DATA_B = dict(means=(1.5,), stds=0.5)
GRID = np.linspace(-8.0, 8.0, 6401)
LEARNING_RATE = 1e-3  # the library's toy learning rate (pipeline/gan.py) for both players
D_STEPS_B = 5


@dataclasses.dataclass(frozen=True)
class Budget:
    steps_a: int          # discriminator updates, part A
    steps_b: int          # generator updates, part B (k = 5 D updates each)
    checkpoints: int      # evaluations over training, per part
    batch_size: int       # real examples per discriminator update
    hidden_units: tuple
    run_eagerly: bool


BUDGETS = {
    "full": Budget(steps_a=3000, steps_b=3000, checkpoints=15, batch_size=512,
                   hidden_units=(64, 64), run_eagerly=False),
    "smoke": Budget(steps_a=6, steps_b=4, checkpoints=2, batch_size=32,
                    hidden_units=(8,), run_eagerly=True),
}


def _d_on_grid(model):
    logits = model.discriminator(GRID[:, None].astype(np.float32), training=False)
    logits = np.asarray(logits, np.float64)[:, 0]
    return 1.0 / (1.0 + np.exp(-logits))


def evaluate(model, p_data):
    """Exact |D - D*|, V(D, G), C(G) and JSD for the model's current D and affine G."""
    mean, std = core.affine_parameters(model.generator)
    pd = p_data.pdf(GRID)
    try:
        pg = toy.mixture1d((mean,), max(std, 1e-6)).pdf(GRID)
        d = _d_on_grid(model)
        d_star = theory.optimal_discriminator(pd, pg)
        region = (pd + pg) > REGION_DENSITY
        value = theory.value_function(d, pd, pg, x=GRID)
        c_of_g = theory.optimal_value(pd, pg, x=GRID)
        jsd = theory.js_divergence_on_grid(pd, pg, x=GRID)
    except ValueError:  # p_g too narrow for the grid (a collapsed G): not measurable
        return {"g_mean": mean, "g_std": std, "mean_abs_d_error": math.nan,
                "value": math.nan, "c_of_g": math.nan, "jsd": math.nan, "value_gap": math.nan}
    return {"g_mean": mean, "g_std": std,
            "mean_abs_d_error": float(np.abs(d - d_star)[region].mean()),
            "value": value, "c_of_g": c_of_g, "jsd": jsd, "value_gap": c_of_g - value}


def _train(ctx, budget, seed, part):
    core.fresh_session(seed)
    if part == "a":
        p_data = toy.mixture1d(**P_DATA_A)
        generator = core.affine_generator(*P_G_A)
        steps, d_steps, g_lr = budget.steps_a, 1, 0.0
    else:
        p_data = toy.mixture1d(**P_DATA_B)
        generator = core.affine_generator()
        steps, d_steps, g_lr = budget.steps_b, D_STEPS_B, LEARNING_RATE
    model = models.GAN(generator, networks.mlp_discriminator((1,), budget.hidden_units),
                       latent_dim=1)
    every = max(1, steps // budget.checkpoints)
    models.compile_preset(model, "gan", loss="minimax", d_steps=d_steps,
                          d_learning_rate=LEARNING_RATE, g_learning_rate=g_lr,
                          steps_per_execution=min(every, 100), run_eagerly=budget.run_eagerly)
    data = p_data.dataset(budget.batch_size * d_steps, seed=seed)
    curve = [dict(step=0, **evaluate(model, p_data))]
    done = 0
    while done < steps:
        n = min(every, steps - done)
        model.fit(data, steps_per_epoch=n, epochs=1, verbose=0)
        done += n
        curve.append(dict(step=done, **evaluate(model, p_data)))
    ctx.log(f"part {part} seed {seed}: |D-D*| {curve[-1]['mean_abs_d_error']:.4f}, gap "
            f"{curve[-1]['value_gap']:.4f}, V {curve[-1]['value']:.4f}, JSD {curve[-1]['jsd']:.4f}")
    return model, p_data, curve


def run(ctx, budget):
    curves = {"a": {}, "b": {}}
    final_d = None
    for seed in ctx.seeds:
        model, p_data, curves["a"][seed] = _train(ctx, budget, seed, "a")
        if final_d is None:  # the first seed's D against D*, for the plot
            pd = p_data.pdf(GRID)
            mean, std = core.affine_parameters(model.generator)  # frozen: still P_G_A
            pg = toy.mixture1d((mean,), std).pdf(GRID)
            final_d = dict(p_data=pd, p_g=pg, d=_d_on_grid(model),
                           d_star=theory.optimal_discriminator(pd, pg))
        _, _, curves["b"][seed] = _train(ctx, budget, seed, "b")

    end_a = [curves["a"][s][-1] for s in ctx.seeds]
    end_b = [curves["b"][s][-1] for s in ctx.seeds]
    minus_log4 = -theory.LOG_4
    err = [e["mean_abs_d_error"] for e in end_a]
    gap = [e["value_gap"] for e in end_a]
    dist = [abs(e["value"] - minus_log4) for e in end_b]
    seen_a = (f"per seed: |D - D*| {[round(e['mean_abs_d_error'], 4) for e in end_a]}, gap "
              f"{[round(e['value_gap'], 4) for e in end_a]}")
    seen_b = (f"per seed: V {[round(e['value'], 4) for e in end_b]}, JSD "
              f"{[round(e['jsd'], 4) for e in end_b]}, p_g = N(mean, std) "
              f"{[(round(e['g_mean'], 3), round(e['g_std'], 3)) for e in end_b]}")
    held_err = bool(core.mean_std(err)[0] <= MAX_MEAN_ABS_D_ERROR)
    held_gap = bool(core.mean_std(gap)[0] <= MAX_VALUE_GAP)
    held_dist = bool(core.mean_std(dist)[0] <= MAX_DISTANCE_TO_MINUS_LOG4)
    claims = (
        core.Claim(
            statement="For a fixed G, the trained discriminator approaches "
                      "D* = p_data / (p_data + p_g).",
            source="Goodfellow et al. 2014, Prop. 1",
            measure="mean |D - D*| (G fixed, end of training)",
            threshold=f"mean <= MAX_MEAN_ABS_D_ERROR = {MAX_MEAN_ABS_D_ERROR}",
            values=tuple(err), held=held_err, note="" if held_err else seen_a),
        core.Claim(
            statement="At D*, the value is C(G) = -log 4 + 2 JSD(p_data || p_g); the trained "
                      "D's value V(D, G) reaches it.",
            source="Goodfellow et al. 2014, Thm. 1 (proof)",
            measure="C(G) - V(D, G), nats (G fixed, end)",
            threshold=f"mean <= MAX_VALUE_GAP = {MAX_VALUE_GAP}",
            values=tuple(gap), held=held_gap, note="" if held_gap else seen_a),
        core.Claim(
            statement="Training G against a near-optimal D drives the value to its global "
                      "minimum -log 4 (p_g = p_data).",
            source="Goodfellow et al. 2014, Thm. 1 and Prop. 2",
            measure="|V(D, G) + log 4|, nats (G trained, end)",
            threshold=f"mean <= MAX_DISTANCE_TO_MINUS_LOG4 = {MAX_DISTANCE_TO_MINUS_LOG4}",
            values=tuple(dist), held=held_dist, note="" if held_dist else seen_b),
    )
    _plots(ctx, curves, final_d)
    what = (f"GAN.fit, minimax loss, MLP discriminator {budget.hidden_units}, affine 1-D "
            f"generator, Adam lr {LEARNING_RATE} (beta1 0.5), batch {budget.batch_size} per D "
            f"update. Part A: G frozen at N{P_G_A}, p_data = mixture of N(-1.5, 0.5^2) and "
            f"N(1.5, 0.5^2), {budget.steps_a} D updates. Part B: G trained, k = {D_STEPS_B}, "
            f"p_data = N(1.5, 0.5^2), {budget.steps_b} G updates. Exact D*, V, C(G) on a "
            f"{len(GRID)}-point grid.")
    return core.Outcome(
        what_was_run=what, claims=claims,
        figures={"part_a": {str(s): c for s, c in curves["a"].items()},
                 "part_b": {str(s): c for s, c in curves["b"].items()},
                 "minus_log4": minus_log4},
        steps={"part_a_d_updates": budget.steps_a, "part_b_g_updates": budget.steps_b,
               "part_b_d_updates": budget.steps_b * D_STEPS_B})


def _plots(ctx, curves, final_d):
    with ctx.figure("d_vs_d_star.png", caption="Part A, seed 0: the trained D against "
                    "D* = p_data / (p_data + p_g) at the end of training.") as (fig, ax):
        ax = ax[0, 0]
        keep = (GRID > -4.5) & (GRID < 4.5)
        ax.plot(GRID[keep], final_d["p_data"][keep], label="p_data", color="tab:blue")
        ax.plot(GRID[keep], final_d["p_g"][keep], label="p_g (frozen G)", color="tab:orange")
        ax.plot(GRID[keep], final_d["d_star"][keep], "k--", label="D* (Prop. 1)")
        ax.plot(GRID[keep], final_d["d"][keep], color="tab:red", label="trained D")
        ax.set_xlabel("x")
        ax.legend()
    with ctx.figure("part_a_over_training.png", ncols=2, figsize=(10, 4),
                    caption="Part A (G fixed): mean |D - D*| and the value gap C(G) - V(D, G) "
                            "over D updates, one line per seed.") as (fig, axes):
        for seed, curve in curves["a"].items():
            steps = [c["step"] for c in curve]
            axes[0, 0].plot(steps, [c["mean_abs_d_error"] for c in curve], label=f"seed {seed}")
            axes[0, 1].plot(steps, [max(c["value_gap"], 1e-6) for c in curve], label=f"seed {seed}")
        axes[0, 0].axhline(MAX_MEAN_ABS_D_ERROR, color="k", ls=":", label="threshold")
        axes[0, 1].axhline(MAX_VALUE_GAP, color="k", ls=":", label="threshold")
        axes[0, 0].set(xlabel="D updates", ylabel="mean |D - D*|", yscale="log")
        axes[0, 1].set(xlabel="D updates", ylabel="C(G) - V(D, G)  [nats]", yscale="log")
        axes[0, 0].legend()
    with ctx.figure("part_b_over_training.png", ncols=2, figsize=(10, 4),
                    caption="Part B (G trained, k = 5): the trained value V(D, G) and "
                            "C(G) = -log 4 + 2 JSD approach -log 4; JSD(p_data || p_g) "
                            "falls.") as (fig, axes):
        for seed, curve in curves["b"].items():
            steps = [c["step"] for c in curve]
            line, = axes[0, 0].plot(steps, [c["value"] for c in curve], label=f"V, seed {seed}")
            axes[0, 0].plot(steps, [c["c_of_g"] for c in curve], ls="--", color=line.get_color(),
                            label=f"C(G), seed {seed}")
            axes[0, 1].plot(steps, [max(c["jsd"], 1e-7) for c in curve], label=f"seed {seed}")
        axes[0, 0].axhline(-theory.LOG_4, color="k", ls=":", label="-log 4")
        axes[0, 0].set(xlabel="G updates", ylabel="nats")
        axes[0, 1].set(xlabel="G updates", ylabel="JSD(p_data || p_g)  [nats]", yscale="log")
        axes[0, 0].legend(fontsize=7)
