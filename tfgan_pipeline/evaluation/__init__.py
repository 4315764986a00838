"""Evaluation: GAN theory on known densities and mode coverage of toy problems."""

from tfgan_pipeline.evaluation import mode_coverage, theory  # noqa: F401
from tfgan_pipeline.evaluation import classifier, image_metrics, metrics  # noqa: F401
