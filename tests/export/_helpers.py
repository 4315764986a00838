"""Tiny generators and images shared by the export tests."""

import keras
import numpy as np

from tfgan_pipeline import networks

IMAGE_SIZE = 32
LATENT_DIM = 8


def build_image_generator(seed=0):
    """A 32x32 image-to-image net with BatchNorm (non-trivial moving stats) and Dropout.

    With moving mean/variance away from 0/1 and dropout at 0.5, ``training=True``
    and ``training=False`` give clearly different outputs, so a signature that ran
    the generator in training mode would fail the comparisons.
    """
    keras.utils.set_random_seed(seed)
    x = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv_in")(x)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Dropout(0.5, name="dropout")(h)
    y = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="conv_out")(h)
    model = keras.Model(x, y, name="tiny_translator")
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.linspace(-0.3, 0.3, 4).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 4).astype("float32"))
    return model


def build_gan_generator():
    keras.utils.set_random_seed(1)
    return networks.dcgan_generator(LATENT_DIM, image_size=IMAGE_SIZE, channels=3, width=4)


def uint8_images(n, height=IMAGE_SIZE, width=IMAGE_SIZE, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, channels),
                                                dtype=np.uint8)
