"""Training models: one GAN variant per module, all on the :class:`GANBase` template.

Paper hyper-parameters live in one table, :data:`presets.PRESETS`;
``compile_preset(model)`` compiles a model with its family's row.
"""

from tfgan_pipeline.models.acgan import ACGAN
from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.cgan import ConditionalGAN
from tfgan_pipeline.models.cyclegan import CycleGAN, ImagePool, LinearDecayToZero
from tfgan_pipeline.models.gan import GAN
from tfgan_pipeline.models.infogan import InfoGAN
from tfgan_pipeline.models.pix2pix import Pix2Pix, make_translate_fn
from tfgan_pipeline.models.presets import (PRESETS, build_optimizers, compile_preset,
                                           get_preset)

__all__ = ["GANBase", "GAN", "ConditionalGAN", "ACGAN", "InfoGAN", "Pix2Pix", "CycleGAN",
           "ImagePool", "LinearDecayToZero",
           "make_translate_fn", "PRESETS", "build_optimizers", "compile_preset", "get_preset"]
