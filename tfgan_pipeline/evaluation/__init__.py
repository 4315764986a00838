"""Evaluation: GAN theory on known densities and mode coverage of toy problems."""

from tfgan_pipeline.evaluation import mode_coverage, theory  # noqa: F401
