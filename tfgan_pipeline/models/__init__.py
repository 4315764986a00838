"""Training models: one GAN variant per module, all on :class:`GANBase`."""

from tfgan_pipeline.models.acgan import ACGAN, compile_acgan
from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.cgan import ConditionalGAN, compile_cgan
from tfgan_pipeline.models.gan import GAN, PRESETS, compile_preset
from tfgan_pipeline.models.infogan import InfoGAN, compile_infogan
from tfgan_pipeline.models.pix2pix import (Pix2Pix, compile_pix2pix, make_translate_fn,
                                           pix2pix_optimizers)

__all__ = ["GANBase", "GAN", "PRESETS", "compile_preset",
           "ConditionalGAN", "compile_cgan", "ACGAN", "compile_acgan",
           "InfoGAN", "compile_infogan",
           "Pix2Pix", "compile_pix2pix", "make_translate_fn", "pix2pix_optimizers"]
