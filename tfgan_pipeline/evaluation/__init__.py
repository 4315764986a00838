"""Evaluation: sample-quality and paired-image metrics, GAN theory, toy mode coverage.

The metrics a user reaches for are importable from here:
``frechet_distance``, ``kernel_distance``, ``classifier_score``,
``precision_recall`` (on classifier features; :mod:`.metrics`), ``l1``, ``psnr``,
``ssim`` (paired images; :mod:`.image_metrics`), ``toy_mode_coverage``
(:mod:`.mode_coverage`). The submodules hold the rest (feature classifiers,
theory on known densities).
"""

from tfgan_pipeline.evaluation import classifier, image_metrics, metrics  # noqa: F401
from tfgan_pipeline.evaluation import mode_coverage, theory  # noqa: F401
from tfgan_pipeline.evaluation.image_metrics import l1, paired_metrics, psnr, ssim
from tfgan_pipeline.evaluation.metrics import (classifier_score, frechet_distance,
                                               kernel_distance, precision_recall)
from tfgan_pipeline.evaluation.mode_coverage import toy_mode_coverage

__all__ = ["classifier", "image_metrics", "metrics", "mode_coverage", "theory",
           "frechet_distance", "kernel_distance", "classifier_score", "precision_recall",
           "l1", "psnr", "ssim", "paired_metrics", "toy_mode_coverage"]
