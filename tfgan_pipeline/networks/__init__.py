"""Network builders: each returns a ``keras.Model``; none knows about training."""

from tfgan_pipeline.networks.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_pipeline.networks.mlp import mlp_discriminator, mlp_generator

__all__ = ["mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator"]
