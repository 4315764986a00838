"""The pix2pix job: Beam preprocess -> Pix2Pix.fit (resumable) -> evaluate -> export.

``run_pix2pix(Pix2PixConfig) -> Pix2PixRunResult``. Paper: Isola et al.,
"Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.
Output layout under ``config.output_dir``::

    config.json            resolved configuration (checked on resume)
    synthetic_data/        generated A|B pairs (only when no data_dir is given)
    preprocessed/          TFRecords per split, stats.json, rejects.jsonl (Beam)
    checkpoints/           networks, optimizers and step
    tensorboard/, history.jsonl, samples/   losses and input|output|target grids over training
    evaluation/metrics.json, evaluation/triplets.png (input | target | output rows)
    export/<model_name>/<version>/   SavedModel for TF Serving (+ warmup requests)
    export/models.config   for tensorflow_model_server --model_config_file
    report/index.html      static report of the run

Every stage reuses finished work on a rerun: preprocessing is skipped when its
config and inputs are unchanged, training resumes from the last checkpoint, and a
new export version is written only when the weights changed since the last one.
"""

import dataclasses
import os

import keras
import numpy as np

from tfgan_pipeline import config as config_lib
from tfgan_pipeline import distribute, models, networks
from tfgan_pipeline import export as export_lib
from tfgan_pipeline.data import paired
from tfgan_pipeline.data.synthetic_pairs import write_synthetic_pairs
from tfgan_pipeline.evaluation import image_metrics
from tfgan_pipeline.monitoring import callbacks as monitoring
from tfgan_pipeline.monitoring import images as images_lib
from tfgan_pipeline.monitoring import report
from tfgan_pipeline.pipeline import training
from tfgan_pipeline.preprocess import PreprocessConfig, run_preprocess

EVAL_SPLITS = ("val", "test")


@dataclasses.dataclass(frozen=True)
class Pix2PixRunResult:
    """Paths and figures of a finished pix2pix run."""

    output_dir: str
    steps: int
    train_seconds: float
    metrics: dict
    metrics_path: str
    triplets_path: str
    export_path: str
    export_version: int
    report_path: str = ""
    model: object = None  # the trained (compiled) Pix2Pix


def preprocess(cfg, out, log=print):
    """Stage 1: pairs on disk -> TFRecords (returns the PreprocessResult)."""
    data_dir = cfg.data_dir
    if data_dir is None:
        data_dir = write_synthetic_pairs(os.path.join(out, "synthetic_data"),
                                         num_pairs=cfg.synthetic_pairs,
                                         size=max(64, cfg.load_size // 2), seed=cfg.seed)
        log(f"No --data_dir: generated {cfg.synthetic_pairs} synthetic A|B pairs in {data_dir}")
    if not os.path.isdir(data_dir):
        raise ValueError(f"data_dir {data_dir!r} is not a folder of image pairs.")
    result = run_preprocess(PreprocessConfig(
        data_dir=data_dir, output_dir=os.path.join(out, "preprocessed"), layout=cfg.layout,
        direction=cfg.direction, load_size=cfg.load_size, val_fraction=cfg.val_fraction,
        num_workers=cfg.num_workers, beam_pipeline_args=tuple(cfg.beam_pipeline_args)),
        verbose=False)
    log(("Reused" if result.reused else "Wrote") + f" TFRecords in {result.output_dir}: "
        f"records {dict(result.records_per_split)}, rejects {dict(result.rejects_per_reason)}"
        + (f" (see {result.rejects_path})" if sum(result.rejects_per_reason.values()) else ""))
    if not result.records_per_split.get("train"):
        raise ValueError(f"No training pairs in {data_dir}: every file was rejected or the folder "
                         f"is empty; see {result.rejects_path}.")
    return result


def build_model(cfg):
    """Builds and compiles the Pix2Pix model for ``cfg`` (call inside a strategy scope)."""
    gen = networks.unet_generator(image_size=cfg.image_size, base_filters=cfg.base_filters,
                                  skip_connections=(cfg.generator == "unet"))
    disc = networks.patchgan_discriminator(image_size=cfg.image_size,
                                           receptive_field=cfg.receptive_field,
                                           base_filters=cfg.base_filters)
    model = models.Pix2Pix(gen, disc, l1_weight=cfg.l1_weight)
    return models.compile_preset(model, gan_loss=cfg.gan_loss, eval_mode=cfg.eval_mode,
                                 steps_per_execution=cfg.steps_per_execution)


def _train(model, cfg, pre, train_ds, out, log):
    """Stage 2: resumable fit with TensorBoard, sample triplets, history and progress."""
    split = next((s for s in EVAL_SPLITS if pre.records_per_split.get(s)), "train")
    fixed = next(iter(paired.paired_eval_dataset(pre.file_pattern(split), batch_size=4,
                                                 image_size=cfg.image_size)))

    def sample_fn(m):  # rows of input | output | target on a fixed held-out batch
        output = m.translate(fixed[0], mode=cfg.eval_mode, batch_size=cfg.eval_batch_size)
        return np.concatenate([fixed[0].numpy(), np.asarray(output), fixed[1].numpy()], axis=2)

    every = cfg.log_every or max(1, cfg.checkpoint_every // 5)
    tensorboard = monitoring.TensorBoardGAN(os.path.join(out, "tensorboard"), every_n_steps=every,
                                            sample_fn=sample_fn, probe_data=train_ds)
    callbacks = [tensorboard,
                 monitoring.SampleGridHistory(os.path.join(out, "samples"), every_n_steps=every,
                                              sample_fn=sample_fn, columns=1),
                 monitoring.MetricHistory(os.path.join(out, "history.jsonl"), every_n_steps=every)]
    if every < cfg.checkpoint_every:
        callbacks.append(monitoring.ProgressLogger(cfg.train_steps, log=log, every_n_steps=every))
    try:
        return training.fit_resumable(model, train_ds, os.path.join(out, "checkpoints"),
                                      cfg.train_steps, cfg.checkpoint_every, log=log,
                                      callbacks=callbacks, progress=every >= cfg.checkpoint_every)
    finally:
        tensorboard.close()


def evaluate(model, cfg, pre, out):
    """Stage 3: L1 / PSNR / SSIM on the held-out split and a triplet PNG."""
    split = next((s for s in EVAL_SPLITS if pre.records_per_split.get(s)), None)
    if split is None:
        split = "train"  # nothing held out: say so loudly in the metrics
    ds = paired.paired_eval_dataset(pre.file_pattern(split), batch_size=16,
                                    image_size=cfg.image_size)

    def translated():
        seen = 0
        for source, target in ds:
            if cfg.max_eval_images is not None and seen >= cfg.max_eval_images:
                return
            output = model.translate(source, mode=cfg.eval_mode, batch_size=cfg.eval_batch_size)
            seen += int(source.shape[0])
            translated.examples.append((source.numpy(), target.numpy(), output.numpy()))
            yield target, output

    translated.examples = []
    scores = image_metrics.paired_metrics_over(translated(), max_images=cfg.max_eval_images)
    rows = [np.stack(t[:8]) for t in zip(*[(s, t, o) for s, t, o in
                                             _first(translated.examples, 8)])]
    triplets = np.stack([rows[0], rows[1], rows[2]], axis=1).reshape(
        (-1,) + rows[0].shape[1:])
    eval_dir = os.path.join(out, "evaluation")
    triplets_path = images_lib.write_png(images_lib.image_grid(triplets, columns=3),
                                         os.path.join(eval_dir, "triplets.png"))
    metrics = {"split": split, "held_out": split != "train", "eval_mode": cfg.eval_mode,
               "eval_batch_size": cfg.eval_batch_size, "num_images": scores.num_images,
               "l1": scores.l1, "l1_0_255": scores.l1 * 127.5, "psnr": scores.psnr,
               "ssim": scores.ssim}
    return metrics, triplets_path


def _first(batches, n):
    """The first ``n`` (source, target, output) examples from a list of batches."""
    out = []
    for source, target, output in batches:
        for i in range(source.shape[0]):
            if len(out) == n:
                return out
            out.append((source[i], target[i], output[i]))
    return out


def export(model, cfg, out, steps, log=print):
    """Stage 4: a new SavedModel version unless the latest one has these weights and mode."""
    def export_fn():
        translate_fn = models.make_translate_fn(model.generator, cfg.eval_mode)
        return export_lib.export_saved_model(
            out, cfg.model_name,
            export_lib.pix2pix_signatures(model.generator, cfg.image_size,
                                          translate_fn=translate_fn),
            model.generator,
            warmup_requests=export_lib.pix2pix_warmup_requests(cfg.image_size),
            assets_extra={"config.json": os.path.join(out, "config.json")})
    return training.export_once(out, cfg.model_name, steps, f"{cfg.eval_mode} mode", export_fn,
                                log=log)


def run_pix2pix(cfg, log=print):
    """Runs (or resumes) the whole pix2pix job. See the module docstring."""
    out = os.path.abspath(cfg.output_dir)
    os.makedirs(out, exist_ok=True)
    config_path = os.path.join(out, "config.json")
    config_lib.check_resumable(cfg, config_path)
    config_lib.write_config(cfg, config_path)
    keras.utils.set_random_seed(cfg.seed)
    keras.mixed_precision.set_global_policy(cfg.precision)

    pre = preprocess(cfg, out, log=log)
    train_ds = paired.paired_train_dataset(pre.file_pattern("train"), cfg.batch_size,
                                           image_size=cfg.image_size, load_size=cfg.load_size,
                                           seed=cfg.seed)
    strategy = distribute.get_strategy(cfg.strategy)
    with strategy.scope():
        model = build_model(cfg)
    log(f"pix2pix {cfg.generator} {cfg.image_size}px, PatchGAN {cfg.receptive_field}, "
        f"{cfg.gan_loss} + {cfg.l1_weight:g}*L1, batch {cfg.batch_size}, "
        f"{strategy.num_replicas_in_sync} replica(s): generator "
        f"{model.generator.count_params():,} / discriminator "
        f"{model.discriminator.count_params():,} parameters")
    fit = _train(model, cfg, pre, train_ds, out, log)

    metrics, triplets_path = evaluate(model, cfg, pre, out)
    metrics.update(steps=fit.steps_done, train_seconds_this_run=fit.seconds,
                   resumed_from=fit.resumed_from,
                   **{f"train_{k}": v[-1] for k, v in fit.history.items()})
    metrics_path = config_lib.write_json(metrics,
                                         os.path.join(out, "evaluation", "metrics.json"))
    log(f"Evaluation on {metrics['num_images']} {metrics['split']} pairs ({cfg.eval_mode} mode): "
        f"L1 {metrics['l1']:.4f} ({metrics['l1_0_255']:.2f} on 0-255), PSNR "
        f"{metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}; {triplets_path}")
    export_path, version = export(model, cfg, out, fit.steps_done, log=log)
    report_path = report.write_report(out, title=f"pix2pix {cfg.direction} on "
                                      f"{cfg.data_dir or 'synthetic pairs'}", final_metrics=metrics)
    log(f"Report: {report_path}")
    return Pix2PixRunResult(out, fit.steps_done, fit.seconds, metrics, metrics_path,
                            triplets_path, export_path, version, report_path, model)
