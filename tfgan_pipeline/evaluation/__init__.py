"""Evaluation: GAN theory on known densities and mode coverage of toy problems."""

from tfgan_pipeline.evaluation.mode_coverage import ModeCoverage, mode_coverage, toy_mode_coverage
from tfgan_pipeline.evaluation.theory import (js_divergence, js_divergence_on_grid,
                                              kl_divergence, kl_divergence_on_grid,
                                              optimal_discriminator, optimal_value,
                                              value_function)
