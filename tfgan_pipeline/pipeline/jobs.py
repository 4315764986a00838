"""The default pipeline of every job: ExampleGen -> Trainer -> Evaluator -> Pusher.

``run_job(config)`` builds the pipeline from a validated job config
(:class:`tfgan_pipeline.config.Pix2PixConfig` / :class:`~tfgan_pipeline.config.GANConfig`),
runs it with caching and resume, writes the run's report and prints where every
output is. Under ``--distribution_strategy=multi_worker`` each worker runs the same
command; the chief records and publishes, the others only train (see
:mod:`tfgan_pipeline.pipeline.runner`).
"""

import os

from tfgan_pipeline import distribute, families
from tfgan_pipeline.data.synthetic_pairs import write_synthetic_pairs
from tfgan_pipeline.pipeline import layout as layout_lib
from tfgan_pipeline.pipeline import report, runner
from tfgan_pipeline.pipeline.component import LatestPushedModel
from tfgan_pipeline.pipeline.components import Evaluator, ExampleGen, Pusher, Trainer


def make_pipeline(cfg):
    """The four wired components for ``cfg`` as a :class:`runner.Pipeline`."""
    params = cfg.component_params()
    example_gen = ExampleGen(params["ExampleGen"])
    examples = example_gen.outputs["examples"]
    trainer = Trainer(params["Trainer"], examples=examples)
    model = trainer.outputs["model"]
    evaluator = Evaluator(params["Evaluator"], examples=examples, model=model,
                          baseline_model=LatestPushedModel(model, cfg.served_name))
    pusher = Pusher(params["Pusher"], model=model, blessing=evaluator.outputs["blessing"],
                    examples=examples)
    return runner.Pipeline(cfg.pipeline_name, cfg.root, (example_gen, trainer, evaluator, pusher),
                           enable_cache=cfg.enable_cache, report_fn=report.write_run_report)


def prepare_raw_data(cfg, log=print):
    """Generates the synthetic pairs a pix2pix job without ``--data_dir`` trains on."""
    plan = cfg.synthetic_pairs_plan()
    if plan is not None:
        folder, num_pairs, size, seed = plan
        write_synthetic_pairs(folder, num_pairs=num_pairs, size=size, seed=seed)
        log(f"No --data_dir: {num_pairs} synthetic A|B pairs in {folder}")


def where(result):
    """Lines saying where the run's outputs are."""
    lines = []

    def add(label, component, key, name=None, artifact_type=None):
        run = result.runs.get(component)
        if run is None:
            return
        uri = run.outputs[key].uri
        path = layout_lib.artifact_file(uri, artifact_type, name) if name else uri
        if os.path.exists(path):
            lines.append(f"  {label:<12} {path}")

    add("stats", "ExampleGen", "examples", "stats", "Examples")
    add("rejects", "ExampleGen", "examples", "rejects", "Examples")
    add("samples", "Trainer", "model_run", "samples", "ModelRun")
    add("tensorboard", "Trainer", "model_run", "tensorboard", "ModelRun")
    add("model", "Trainer", "model")
    add("metrics", "Evaluator", "evaluation", "metrics", "ModelEvaluation")
    add("blessing", "Evaluator", "blessing")
    pusher = result.runs.get("Pusher")
    if pusher is not None:
        props = pusher.outputs["pushed_model"].properties
        lines.append(f"  {'servable':<12} " + (
            f"{props['path']} (version {props['version']})" if props.get("pushed")
            else "not pushed (not blessed)"))
    if result.report_path:
        lines.append(f"  {'report':<12} {result.report_path}")
    return lines


def check_replicas(cfg):
    """Fails (naming ``--batch_size``) before anything is written when a training step's
    examples do not split evenly over the strategy's replicas (Keras needs equal shares)."""
    trainer = cfg.component_params()["Trainer"]
    family = families.get_family(trainer["family"])
    per_step = cfg.batch_size * families.d_steps_of(family, trainer["hparams"])
    replicas = distribute.get_strategy(cfg.distribution_strategy).num_replicas_in_sync
    if per_step % replicas:
        raise ValueError(
            f"--batch_size={cfg.batch_size} x d_steps={per_step // cfg.batch_size} = {per_step} "
            f"examples per step do not split evenly over {replicas} replicas (Keras needs "
            f"equal shares); choose a batch size that makes the product a multiple of "
            f"{replicas}.")


def run_job(cfg, log=print):
    """Runs the job's pipeline once (cached components are skipped); returns the RunResult."""
    is_chief, index = (distribute.task_info() if cfg.distribution_strategy == "multi_worker"
                       else (True, 0))
    check_replicas(cfg)
    prepare_raw_data(cfg, log)
    pipeline = make_pipeline(cfg)
    log(f"Pipeline {pipeline.name} at {pipeline.layout.pipeline_root} (cache "
        f"{'on' if cfg.enable_cache else 'off'}"
        + ("" if is_chief else f", worker {index}: training only") + ")")
    result = runner.run_pipeline(pipeline, log=log, is_chief=is_chief, worker_index=index)
    if result.interrupted:
        log(f"Stopped early: {result.interrupted}")
    elif is_chief:
        log("Outputs:\n" + "\n".join(where(result)))
    return result
