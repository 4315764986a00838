"""Training models: one GAN variant per module, all on :class:`GANBase`."""

from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.gan import GAN, PRESETS, compile_preset

__all__ = ["GANBase", "GAN", "PRESETS", "compile_preset"]
