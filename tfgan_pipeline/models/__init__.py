"""Training models: one GAN variant per module, all on :class:`GANBase`."""

from tfgan_pipeline.models.base import GANBase
from tfgan_pipeline.models.gan import GAN, PRESETS, compile_preset

__all__ = ["GANBase", "GAN", "PRESETS", "compile_preset"]

from tfgan_pipeline.models.pix2pix import (  # noqa: E402
    Pix2Pix, compile_pix2pix, make_translate_fn, pix2pix_optimizers)

__all__ += ["Pix2Pix", "compile_pix2pix", "make_translate_fn", "pix2pix_optimizers"]

from tfgan_pipeline.models.acgan import ACGAN, compile_acgan  # noqa: E402
from tfgan_pipeline.models.cgan import ConditionalGAN, compile_cgan  # noqa: E402
from tfgan_pipeline.models.infogan import InfoGAN, compile_infogan  # noqa: E402

__all__ += ["ConditionalGAN", "compile_cgan", "ACGAN", "compile_acgan", "InfoGAN",
            "compile_infogan"]
