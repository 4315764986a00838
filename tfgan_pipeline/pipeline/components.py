"""The four components: ExampleGen -> Trainer -> Evaluator (blessing) -> Pusher.

TFX's standard components in shape (``tfx/components/{example_gen,trainer,evaluator,
pusher}``; artifact types ``Examples``, ``Model``, ``ModelRun``, ``ModelEvaluation``,
``ModelBlessing``, ``PushedModel`` as in ``tfx/types/standard_artifacts.py``). What a
family contributes comes from :mod:`tfgan_pipeline.families`; what a data kind
contributes from :mod:`tfgan_pipeline.pipeline.examples`; every path from
:mod:`tfgan_pipeline.pipeline.layout`.
"""

import json
import os
import shutil

import keras
import tensorflow as tf

from tfgan_pipeline import config as config_lib
from tfgan_pipeline import distribute, families
from tfgan_pipeline import export as export_lib
from tfgan_pipeline import precision as precision_lib
from tfgan_pipeline.monitoring import callbacks as monitoring
from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import examples as examples_lib
from tfgan_pipeline.pipeline import layout, training
from tfgan_pipeline.pipeline.component import Component, Interrupted


def _write_json(obj, path):
    return config_lib.write_json(obj, path)


def _read_json(path):
    with open(path) as f:
        return json.load(f)


# ------------------------------------------------------------------ ExampleGen
class ExampleGen(Component):
    """Raw data -> an ``Examples`` artifact of the family's data kind.

    Parameters: ``kind`` (a key of :data:`examples.DATA_KINDS`), ``source`` (that
    kind's settings, e.g. ``data_dir`` / ``layout`` / ``direction`` / ``load_size`` /
    ``val_fraction`` for pairs, ``dataset`` for toys), ``num_workers`` and
    ``beam_pipeline_args`` (how Beam runs: not in the cache key).
    """

    OUTPUTS = {"examples": "Examples"}
    PARAMETERS = ("kind", "source", "num_workers", "beam_pipeline_args")
    EXECUTION_ONLY = ("num_workers", "beam_pipeline_args")
    EXECUTOR_VERSION = "1"

    def _kind(self):
        return examples_lib.DATA_KINDS[self.params["kind"]]

    def fingerprint(self):
        return self._kind().fingerprint(self.params["source"])

    def external_inputs(self):
        uri = self._kind().raw_uri(self.params["source"])
        if uri is None:
            return {}
        return {"raw_data": ("ExternalData", uri, self.fingerprint())}

    def run(self, inputs, outputs, params, context):
        uri = outputs["examples"].uri
        settings = {**params["source"], "num_workers": params["num_workers"],
                    "beam_pipeline_args": params["beam_pipeline_args"]}
        properties = self._kind().produce(settings, uri, context.log)
        outputs["examples"].properties.update(
            kind=params["kind"], content_key=json.dumps(
                {"source": params["source"], "fingerprint": self.fingerprint()},
                sort_keys=True, default=str),
            **properties)
        return f"{params['kind']} examples in {uri}"


# --------------------------------------------------------------------- Trainer
def _rebuild(model_artifact, data, strategy=None):
    """The family's model with a Model artifact's weights, and its spec."""
    spec = _read_json(layout.artifact_file(model_artifact.uri, "Model", "spec"))
    family = families.get_family(spec["family"])
    with (strategy or tf.distribute.get_strategy()).scope():
        model = families.build_model(family, spec["hparams"], data.info)
    # The networks (and any other state, like image pools), not the optimizers: this
    # copy only evaluates or exports, and its optimizers may be built differently.
    objects = {k: v for k, v in model.checkpoint_objects().items()
               if not isinstance(v, keras.optimizers.Optimizer)}
    tf.train.Checkpoint(**objects).read(
        os.path.join(layout.artifact_file(model_artifact.uri, "Model", "checkpoint"), "model")
    ).expect_partial()
    return family, spec, model


def _checkpoint_step(folder):
    latest = tf.train.latest_checkpoint(os.path.join(folder, "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _work_for(work_dir, train_steps, log):
    """The work folder to train in: the shared one, unless its checkpoint is already
    beyond ``train_steps`` (a shorter run was asked for): then a folder of its own, so
    the model is never trained past what was asked."""
    if _checkpoint_step(work_dir) <= train_steps:
        return work_dir
    own = f"{work_dir}-steps{train_steps}"
    log(f"Trainer: the checkpoints in {work_dir} are at step {_checkpoint_step(work_dir)}, past "
        f"--train_steps={train_steps}; training {train_steps} steps in {own}.")
    return own


def _precision_choice(requested, data):
    """``--precision`` resolved for this data on this machine (float32 where the data needs
    full precision and the user left it to ``auto``)."""
    if requested == "auto" and data.full_precision:
        return precision_lib.PrecisionChoice("float32", data.full_precision)
    return precision_lib.resolve_precision(requested)


def _agreed_precision(strategy, choice):
    """``choice`` if every worker of ``strategy`` resolved the same policy, else float32.

    ``auto`` measures bf16 on each worker's own CPU (``precision.measure_bf16_speed``), so
    workers on different machines may disagree; replicas training one model must run one
    policy, and float32 is the one every device runs correctly.
    """
    if distribute.unanimous(strategy, precision_lib.POLICIES.index(choice.policy),
                            len(precision_lib.POLICIES)):
        return choice
    return precision_lib.PrecisionChoice(
        "float32", f"{choice.reason}; but the workers resolved different policies, so all "
        "run float32", choice.requested)


class Trainer(Component):
    """``Examples`` -> ``Model`` (weights + what to rebuild) and ``ModelRun`` (logs).

    Trains the family's model with ``model.fit`` under ``distribution_strategy``,
    checkpointing into a work folder keyed by the examples and the hyper-parameters
    (not by the execution), so a killed run resumes from its last checkpoint and a
    larger ``train_steps`` continues training. TensorBoard logs, ``history.jsonl``
    and sample grids accumulate there too and are copied into ``ModelRun``.
    """

    INPUTS = {"examples": ("Examples", False)}
    OUTPUTS = {"model": "Model", "model_run": "ModelRun"}
    PARAMETERS = ("family", "hparams", "train_steps", "checkpoint_every", "log_every",
                  "distribution_strategy", "max_minutes", "precision", "steps_per_execution")
    EXECUTION_ONLY = ("checkpoint_every", "log_every", "distribution_strategy", "max_minutes",
                      "steps_per_execution")
    EXECUTOR_VERSION = "1"

    def work_key(self, inputs):
        # train_steps is left out: asking for more steps continues the same training.
        return {"examples": inputs["examples"][0].properties.get("content_key"),
                "family": self.params["family"], "hparams": self.params["hparams"],
                "precision": self.params["precision"]}

    def run(self, inputs, outputs, params, context):
        family = families.get_family(params["family"])
        hp = params["hparams"]
        data = examples_lib.open_examples(inputs["examples"][0])
        keras.utils.set_random_seed(hp["seed"])
        strategy = distribute.get_strategy(params["distribution_strategy"])
        choice = _agreed_precision(strategy, _precision_choice(params["precision"], data))
        context.log(f"Trainer: {choice.describe()}")
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(choice.policy)
        batch = hp["batch_size"] * families.d_steps_of(family, hp)
        if batch % strategy.num_replicas_in_sync:
            raise ValueError(
                f"--batch_size={hp['batch_size']} gives {batch} examples per step, which do "
                f"not split evenly over {strategy.num_replicas_in_sync} replicas (Keras needs "
                "equal shares); choose a multiple.")
        with strategy.scope():
            model = families.build_model(
                family, {**hp, "steps_per_execution": params["steps_per_execution"],
                         "train_steps": params["train_steps"]}, data.info)
        g_params = sum(net.count_params() for net in model.generator_networks())
        d_params = sum(net.count_params() for net in model.discriminator_networks())
        context.log(f"Trainer: {family.name} on {data.info.kind} data {data.info.sample_shape}, "
                    f"{strategy.num_replicas_in_sync} replica(s), generator(s) {g_params:,} / "
                    f"discriminator(s) {d_params:,} parameters")
        train_ds = family.train_dataset(data, hp)
        work = _work_for(context.work_dir, params["train_steps"], context.log)
        run_dir = os.path.join(work, "run")
        files = layout.FILES["ModelRun"]
        every = params["log_every"] or max(1, params["checkpoint_every"] // 20)
        sample_fn = family.sample_fn(data, hp)
        scatter = ({"modes": data.mixture.centers} if data.info.kind == "toy" else {})
        tensorboard = monitoring.TensorBoardGAN(
            os.path.join(run_dir, files["tensorboard"]), every_n_steps=every,
            sample_fn=sample_fn, probe_data=train_ds, scatter_kwargs=scatter)
        callbacks = [tensorboard,
                     monitoring.SampleGridHistory(os.path.join(run_dir, files["samples"]),
                                                  every_n_steps=max(every, params["train_steps"]
                                                                    // 10),
                                                  sample_fn=sample_fn, columns=None,
                                                  scatter_kwargs=scatter),
                     monitoring.MetricHistory(os.path.join(run_dir, files["history"]),
                                              every_n_steps=every),
                     monitoring.ProgressLogger(params["train_steps"], log=context.log,
                                               every_n_steps=max(every, params["checkpoint_every"]
                                                                 // 2))]
        checkpoints = os.path.join(work, "checkpoints")
        if not context.is_chief:  # restore from the chief's, save to our own temp folder
            shared = os.path.join(context.shared_work_dir, "checkpoints")
            if tf.train.latest_checkpoint(shared):
                shutil.copytree(shared, checkpoints, dirs_exist_ok=True)
        try:
            fit = training.fit_resumable(
                model, train_ds, checkpoints, params["train_steps"], params["checkpoint_every"],
                log=context.log, callbacks=callbacks, progress=False,
                max_seconds=params["max_minutes"] and 60 * params["max_minutes"])
        finally:
            tensorboard.close()
            keras.mixed_precision.set_global_policy(previous_policy)  # not for later components
        if fit.steps_done < params["train_steps"]:
            raise Interrupted(f"Trainer stopped at step {fit.steps_done} of "
                              f"{params['train_steps']} (time budget); rerun the same command to "
                              "continue from its checkpoint.")
        model_dir = outputs["model"].uri
        tf.train.Checkpoint(**model.checkpoint_objects()).write(
            os.path.join(layout.artifact_file(model_dir, "Model", "checkpoint"), "model"))
        final = {k: v[-1] for k, v in fit.history.items()}
        _write_json({"family": family.name, "hparams": hp, "steps": fit.steps_done,
                     "final_metrics": final},
                    layout.artifact_file(model_dir, "Model", "spec"))
        run_uri = outputs["model_run"].uri
        shutil.copytree(run_dir, run_uri, dirs_exist_ok=True)
        records = html_lib.read_history(layout.artifact_file(run_uri, "ModelRun", "history"))
        if records:  # drawn once here, not by every report that shows them
            curves = layout.artifact_file(run_uri, "ModelRun", "curves")
            os.makedirs(curves, exist_ok=True)
            panels = html_lib.plot_panels(records, curves)
            _write_json({"records": len(records), "last_step": records[-1]["step"],
                         "panels": [[title, os.path.basename(path)] for title, path in panels]},
                        layout.artifact_file(run_uri, "ModelRun", "curves_index"))
        outputs["model"].properties.update(family=family.name, steps=fit.steps_done,
                                           resumed_from=fit.resumed_from)
        return (f"{fit.steps_done} steps ({fit.steps_done - fit.resumed_from} this run, "
                f"{fit.seconds:.0f} s)")


# ------------------------------------------------------------------- Evaluator
def _check(name, passed, detail):
    return {"check": name, "passed": bool(passed), "detail": detail}


class Evaluator(Component):
    """``Model`` (+ the pushed ``baseline_model``) -> ``ModelEvaluation`` and ``ModelBlessing``.

    The family's metrics on held-out data, beside its trivial baseline, and — when a
    model is already pushed — that model's metrics on the same data. Blessed when
    every threshold holds, the model beats the trivial baseline on the blessing
    metric, and it is no worse than the pushed model within ``baseline_tolerance``
    (relative). TFX writes an empty ``BLESSED`` / ``NOT_BLESSED`` file and a
    ``blessed`` property; so does this.
    """

    INPUTS = {"examples": ("Examples", False), "model": ("Model", False),
              "baseline_model": ("Model", True)}
    OUTPUTS = {"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"}
    PARAMETERS = ("evaluation", "thresholds", "baseline_tolerance", "require_beating_baseline")
    EXECUTOR_VERSION = "1"
    CHIEF_ONLY = True

    def run(self, inputs, outputs, params, context):
        data = examples_lib.open_examples(inputs["examples"][0])
        family, spec, model = _rebuild(inputs["model"][0], data)
        hp = {**spec["hparams"], **params["evaluation"]}
        eval_dir = outputs["evaluation"].uri
        figures = layout.artifact_file(eval_dir, "ModelEvaluation", "figures")
        os.makedirs(figures, exist_ok=True)
        metrics = family.evaluate(model, data, hp, figures, context.log)
        if family.visuals is not None and data.info.kind != "toy":
            family.visuals(model, figures, hp["seed"])
        rule = family.blessing_for(data.info.kind)
        metric = rule.metric
        baseline = inputs.get("baseline_model") or []
        if baseline:
            _, base_spec, base_model = _rebuild(baseline[0], data)
            with_pushed = family.evaluate(base_model, data, {**base_spec["hparams"],
                                                             **params["evaluation"]},
                                          os.path.join(figures, "pushed"), context.log)
            metrics.update({f"pushed_{k}": v for k, v in with_pushed.items()
                            if not k.startswith(("baseline_", "floor_"))})
        beats = rule.better(metrics[metric], metrics[f"baseline_{metric}"])
        checks = [_check(f"beats the trivial baseline on {metric}",
                         beats or not params["require_beating_baseline"],
                         f"{metric} {metrics[metric]:.4g} vs baseline "
                         f"{metrics[f'baseline_{metric}']:.4g}"
                         + ("" if params["require_beating_baseline"] or beats
                            else " (not required: --norequire_beating_baseline)"))]
        for name, (bound, value) in sorted(params["thresholds"].items()):
            got = metrics[name]
            ok = got >= value if bound == "min" else got <= value
            checks.append(_check(f"{name} {'>=' if bound == 'min' else '<='} {value:g}", ok,
                                 f"{name} = {got:.4g}"))
        if baseline:
            pushed, tol = metrics[f"pushed_{metric}"], params["baseline_tolerance"]
            limit = pushed * (1 - tol) if rule.higher_is_better else pushed * (1 + tol)
            ok = metrics[metric] >= limit if rule.higher_is_better else metrics[metric] <= limit
            checks.append(_check(
                f"no worse than the pushed model on {metric} (tolerance {tol:.0%})", ok,
                f"{metric} {metrics[metric]:.4g} vs pushed {pushed:.4g} "
                f"(model {baseline[0].id})"))
        else:
            checks.append(_check("no worse than the pushed model", True,
                                 "no model pushed yet: nothing to compare with"))
        blessed = all(c["passed"] for c in checks)
        metrics.update(steps=spec["steps"], blessing_metric=metric,
                       blessing_higher_is_better=rule.higher_is_better)
        _write_json(metrics, layout.artifact_file(eval_dir, "ModelEvaluation", "metrics"))
        bless_dir = outputs["blessing"].uri
        marker = layout.artifact_file(bless_dir, "ModelBlessing",
                                      "blessed" if blessed else "not_blessed")
        open(marker, "w").close()
        _write_json({"blessed": blessed, "checks": checks, "metric": metric},
                    layout.artifact_file(bless_dir, "ModelBlessing", "details"))
        failed = [c for c in checks if not c["passed"]]
        outputs["blessing"].properties.update(
            blessed=int(blessed), failed_checks=[f"{c['check']}: {c['detail']}" for c in failed])
        outputs["evaluation"].properties.update(
            {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))})
        verdict = "BLESSED" if blessed else "NOT BLESSED: " + "; ".join(
            f"{c['check']} failed ({c['detail']})" for c in failed)
        return f"{metric} {metrics[metric]:.4g} (baseline {metrics[f'baseline_{metric}']:.4g}); " \
               f"{verdict}"


# ---------------------------------------------------------------------- Pusher
class Pusher(Component):
    """A blessed ``Model`` -> the next integer version under ``<serving_dir>/<model_name>/``.

    Exports the family's serving signatures (with warmup requests) atomically: the
    version folder appears only when complete. An unblessed model is not pushed and
    the run says which check failed.
    """

    INPUTS = {"model": ("Model", False), "blessing": ("ModelBlessing", False),
              "examples": ("Examples", False)}
    OUTPUTS = {"pushed_model": "PushedModel"}
    PARAMETERS = ("model_name", "serving_dir", "export")
    EXECUTOR_VERSION = "1"
    CHIEF_ONLY = True

    def run(self, inputs, outputs, params, context):
        blessing = inputs["blessing"][0]
        record_path = layout.artifact_file(outputs["pushed_model"].uri, "PushedModel", "record")
        base = {"model_name": params["model_name"],
                "pipeline_name": context.pipeline.name if context.pipeline else ""}
        if not blessing.properties.get("blessed"):
            failed = blessing.properties.get("failed_checks", [])
            record = {**base, "pushed": 0, "reason": failed}
            _write_json(record, record_path)
            outputs["pushed_model"].properties.update(record)
            return "not pushed: the model is not blessed (" + "; ".join(failed) + ")"
        data = examples_lib.open_examples(inputs["examples"][0])
        family, spec, model = _rebuild(inputs["model"][0], data)
        hp = {**spec["hparams"], **params["export"]}
        signatures, warmup, owner = family.export(model, hp, data.info)
        result = export_lib.push_saved_model(
            params["serving_dir"], params["model_name"], signatures, owner,
            warmup_requests=warmup, assets_extra={"model.json": layout.artifact_file(
                inputs["model"][0].uri, "Model", "spec")})
        record = {**base, "pushed": 1, "version": result.version, "path": result.path,
                  "base_path": result.base_path, "models_config": result.model_config_path}
        _write_json(record, record_path)
        outputs["pushed_model"].properties.update(record)
        return f"pushed version {result.version} to {result.path}"
