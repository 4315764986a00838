"""Network builders: each returns a ``keras.Model``; none knows about training."""

from tfgan_pipeline.networks.conditional import (acgan_discriminator,
                                                 conditional_dcgan_discriminator,
                                                 conditional_dcgan_generator,
                                                 conditional_mlp_discriminator,
                                                 conditional_mlp_generator,
                                                 infogan_discriminator, infogan_generator)
from tfgan_pipeline.networks.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_pipeline.networks.mlp import mlp_discriminator, mlp_generator
from tfgan_pipeline.networks.patchgan import (patchgan_discriminator, patchgan_layers,
                                              receptive_field)
from tfgan_pipeline.networks.resnet import resnet_blocks_for, resnet_generator
from tfgan_pipeline.networks.unet import unet_generator, unet_plan

__all__ = ["mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator",
           "unet_generator", "unet_plan", "patchgan_discriminator", "patchgan_layers",
           "receptive_field", "resnet_generator", "resnet_blocks_for",
           "conditional_dcgan_generator", "conditional_dcgan_discriminator",
           "conditional_mlp_generator", "conditional_mlp_discriminator",
           "acgan_discriminator", "infogan_generator", "infogan_discriminator"]
