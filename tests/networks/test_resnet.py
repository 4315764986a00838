"""CycleGAN's networks: the ResNet generator and the unconditional 70x70 PatchGAN."""

import keras
import numpy as np
import pytest

from tfgan_pipeline import networks
from tfgan_pipeline.networks.resnet import ReflectionPad2D


def test_resnet_generator_follows_the_paper():
    assert networks.resnet_blocks_for(128) == 6 and networks.resnet_blocks_for(256) == 9
    model = networks.resnet_generator(64, base_filters=8)
    residual = [l.name for l in model.layers if l.name.endswith("_add")]
    assert len(residual) == 6  # below 256 px: 6 blocks
    norms = [l for l in model.layers if isinstance(l, keras.layers.GroupNormalization)]
    assert norms and all(l.groups == l.gamma.shape[0] for l in norms)  # one group per channel
    assert sum(isinstance(l, ReflectionPad2D) for l in model.layers) == 2 + 2 * 6
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    y = model(x).numpy()
    assert y.shape == (2, 64, 64, 3) and np.abs(y).max() <= 1.0
    # Fully convolutional: another size works too.
    assert model(np.zeros((1, 32, 48, 3), "float32")).shape == (1, 32, 48, 3)
    with pytest.raises(ValueError, match="multiple of 4"):
        networks.resnet_generator(30)


def test_reflection_padding_mirrors_without_repeating_the_edge():
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    out = ReflectionPad2D(1)(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out[0], [4, 3, 4, 5, 4])
    np.testing.assert_array_equal(out[:, 0], [4, 1, 4, 7, 4])


def test_unconditional_patchgan_has_one_input_and_a_70_pixel_field():
    disc = networks.patchgan_discriminator(128, input_channels=0, norm="instance")
    assert len(disc.inputs) == 1
    assert networks.receptive_field(disc) == 70
    out = disc(np.zeros((2, 128, 128, 3), "float32"))
    assert out.shape == (2, 14, 14, 1)
    assert any(isinstance(l, keras.layers.GroupNormalization) for l in disc.layers)
