"""Training models: one GAN variant per module, all on :class:`GANBase`."""

from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.gan import GAN, PRESETS, compile_preset

__all__ = ["GANBase", "GAN", "PRESETS", "compile_preset"]

from tfgan_pipeline.models.pix2pix import (  # noqa: E402
    Pix2Pix, compile_pix2pix, make_translate_fn, pix2pix_optimizers)

__all__ += ["Pix2Pix", "compile_pix2pix", "make_translate_fn", "pix2pix_optimizers"]
