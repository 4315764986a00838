"""The experiments' frozen config and the runner (the registry is :data:`core.REGISTRY`).

``run_experiments(ExperimentsConfig(...))`` runs the chosen experiments one after
the other, each writing ``<output_dir>/<name>/result.json`` and its PNGs, then
(re)writes ``<output_dir>/index.html`` and ``<output_dir>/summary.md`` over every
experiment whose ``result.json`` is in ``output_dir`` — so experiments run in
separate processes (one at a time, as the full budget should be) end up on one
page. Importing this module does not import TensorFlow: the experiment modules are
imported when they run, so a bad configuration fails at once.
"""

import dataclasses
import datetime
import importlib
import os
import platform
import resource
import sys
import time
import traceback

from tfgan_pipeline.experiments import core, report
from tfgan_pipeline.experiments.core import NAMES, REGISTRY

BUDGETS = ("full", "smoke")
#: Most seeds a run may ask for (each seed is a full training run per setting).
MAX_SEEDS = 10


class ConfigError(ValueError):
    """A bad configuration value; ``field`` is the config field (= the flag) at fault."""

    def __init__(self, field, message):
        super().__init__(f"--{field}: {message}")
        self.field = field


@dataclasses.dataclass(frozen=True)
class ExperimentsConfig:
    """What to run (field names are the flags of ``pipelines/experiments.py``).

    Attributes:
      experiment: one name of :data:`NAMES`, several joined by commas, or ``"all"``.
      output_dir: where every experiment's folder, ``index.html`` and
        ``summary.md`` go.
      seeds: how many seeds (``0 .. seeds-1``) per setting; an experiment may use
        fewer and says so (pix2pix: one, see its module).
      budget: ``"full"`` (what docs/EXPERIMENTS.md reports) or ``"smoke"`` (seconds).
      mnist_dir: folder of MNIST IDX files (experiments 5-7).
      maps_dir: folder of pix2pix A|B pairs (experiment 8).
    """

    experiment: str = "all"
    output_dir: str = "runs/experiments"
    seeds: int = 3
    budget: str = "full"
    mnist_dir: str = "../shared/data/mnist"
    maps_dir: str = "../shared/data/maps/train"

    def __post_init__(self):
        if not isinstance(self.experiment, str) or not self.experiment.strip():
            raise ConfigError("experiment", f"got {self.experiment!r}; choose 'all' or one or "
                              f"more (comma-separated) of {', '.join(NAMES)}.")
        chosen = [e.strip() for e in self.experiment.split(",") if e.strip()]
        unknown = [e for e in chosen if e not in NAMES + ("all",)]
        if unknown or ("all" in chosen and len(chosen) > 1):
            raise ConfigError(
                "experiment", f"unknown or mixed value(s) {unknown or chosen}; choose 'all' or "
                f"one or more (comma-separated) of {', '.join(NAMES)}.")
        if not isinstance(self.output_dir, (str, os.PathLike)) or not os.fspath(self.output_dir):
            raise ConfigError("output_dir", "must be a non-empty folder path.")
        if (isinstance(self.seeds, bool) or not isinstance(self.seeds, int)
                or not 1 <= self.seeds <= MAX_SEEDS):
            raise ConfigError("seeds", f"got {self.seeds!r}; allowed: an integer from 1 to "
                              f"{MAX_SEEDS}.")
        if self.budget not in BUDGETS:
            raise ConfigError("budget", f"got {self.budget!r}; allowed: {', '.join(BUDGETS)}.")
        needs = {need for _, name, _, n in REGISTRY if name in self.names for need in n}
        for need, field in (("mnist", "mnist_dir"), ("maps", "maps_dir")):
            folder = getattr(self, field)
            if need in needs and not (isinstance(folder, str) and os.path.isdir(folder)):
                users = [name for _, name, _, n in REGISTRY if need in n and name in self.names]
                raise ConfigError(field, f"folder {folder!r} does not exist; {', '.join(users)} "
                                  f"need{'s' if len(users) == 1 else ''} it (point --{field} at "
                                  "it, or leave those experiments out of --experiment).")

    @property
    def names(self):
        """The experiments to run, in registry order."""
        chosen = {e.strip() for e in self.experiment.split(",") if e.strip()}
        return NAMES if "all" in chosen else tuple(n for n in NAMES if n in chosen)


def _entry(name):
    return next(entry for entry in REGISTRY if entry[1] == name)


def environment():
    """The machine and library versions a result was measured with."""
    import keras
    import tensorflow as tf

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "machine": platform.machine(),
            "processor": platform.processor(), "cpu_count": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "load_average_at_start": load}


def _cpu_seconds():
    """User + system CPU time of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_experiment(config, name, log=print):
    """Runs one experiment and writes its ``result.json``; returns the result dict.

    A failing experiment writes a ``result.json`` with ``"status": "failed"`` and
    the error, and re-raises.
    """
    number, _, module_name, _ = _entry(name)
    out = os.path.join(config.output_dir, name)
    cache = os.path.join(config.output_dir, "_cache")
    os.makedirs(out, exist_ok=True)
    os.makedirs(cache, exist_ok=True)
    module = importlib.import_module(module_name)
    budget = module.BUDGETS[config.budget]
    seeds = tuple(range(min(config.seeds, getattr(module, "MAX_SEEDS", config.seeds))))
    result = {"experiment": name, "number": number, "title": module.TITLE,
              "source": module.SOURCE, "budget": config.budget,
              "seeds_requested": config.seeds, "seeds": list(seeds),
              "budget_settings": dataclasses.asdict(budget),
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "command": " ".join(getattr(sys, "orig_argv", sys.argv)),
              "environment": environment()}
    ctx = core.Context(name, out, cache, seeds, config.budget, mnist_dir=config.mnist_dir,
                       maps_dir=config.maps_dir, log=log)
    start, cpu_start = time.time(), _cpu_seconds()
    try:
        outcome = module.run(ctx, budget)
    except BaseException as e:
        result.update(status="failed", wall_seconds=time.time() - start,
                      cpu_seconds=_cpu_seconds() - cpu_start,
                      error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(),
                      plots=ctx.plots, claims=[], held=None)
        core.write_json(os.path.join(out, "result.json"), result)
        raise
    claims = [c.to_dict() for c in outcome.claims]
    held = [c["held"] for c in claims]
    result.update(
        status="done", wall_seconds=time.time() - start, cpu_seconds=_cpu_seconds() - cpu_start,
        what_was_run=outcome.what_was_run,
        steps=outcome.steps, notes=list(outcome.notes), claims=claims,
        held=(None if not held or any(h is None for h in held) else all(held)),
        tables=list(outcome.tables), plots=ctx.plots, figures=outcome.figures)
    core.write_json(os.path.join(out, "result.json"), result)
    log(f"[{name}] done in {result['wall_seconds']:.0f} s ({result['cpu_seconds']:.0f} CPU-s): "
        + "; ".join(f"{'HELD' if c['held'] else 'NOT HELD'} {c['measure']} = {c['mean']:.4g}"
                    for c in claims))
    return result


def run_experiments(config, log=print):
    """Runs ``config.names`` in order, then writes ``index.html`` and ``summary.md``.

    Returns:
      ``{name: result dict}`` of the experiments run now. An experiment that fails
      is recorded (``"status": "failed"``), the others still run, and a
      ``RuntimeError`` naming the failures is raised at the end, after the index.
    """
    if not isinstance(config, ExperimentsConfig):
        raise TypeError(f"config must be an ExperimentsConfig, got {type(config).__name__}.")
    os.makedirs(config.output_dir, exist_ok=True)
    results, failed = {}, []
    for name in config.names:
        try:
            results[name] = run_experiment(config, name, log=log)
        except Exception as e:  # recorded in result.json; carry on with the next one
            log(f"[{name}] FAILED: {type(e).__name__}: {e}")
            failed.append(name)
    report.write_index(config.output_dir)
    report.write_summary(config.output_dir)
    if failed:
        raise RuntimeError(f"experiments failed: {', '.join(failed)} (see their result.json)")
    return results
