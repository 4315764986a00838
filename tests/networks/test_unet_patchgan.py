"""Tests for the pix2pix networks: U-Net generator and PatchGAN discriminator."""

import keras
import numpy as np
import pytest

from tfgan_pipeline.networks import patchgan, unet
from tfgan_pipeline.networks.patchgan import (
    patchgan_discriminator, patchgan_layers, patchgan_output_size, receptive_field)
from tfgan_pipeline.networks.unet import unet_generator, unet_plan


def _layers_of(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


# ------------------------------------------------------------------ U-Net
def test_unet_parameter_count_at_256_matches_hand_count():
    conv = lambda cin, cout: 16 * cin * cout  # noqa: E731  (4x4 kernels)
    bn = lambda c: 4 * c  # noqa: E731  gamma, beta, moving mean and variance
    enc = [64, 128, 256, 512, 512, 512, 512, 512]
    expected = conv(3, 64) + 64  # first layer: bias, no norm
    for cin, cout in zip(enc[:-2], enc[1:-1]):
        expected += conv(cin, cout) + bn(cout)
    expected += conv(512, 512) + 512  # innermost: bias, no norm
    dec_in = [512, 1024, 1024, 1024, 1024, 512, 256]
    dec_out = [512, 512, 512, 512, 256, 128, 64]
    for cin, cout in zip(dec_in, dec_out):
        expected += conv(cin, cout) + bn(cout)
    expected += conv(128, 3) + 3  # output convolution with bias
    assert expected == 54_424_387

    model = unet_generator(256)
    assert model.count_params() == expected
    # The commonly cited count (TF pix2pix tutorial) differs only in where biases
    # and the bottleneck BatchNorm sit.
    assert abs(model.count_params() - 54_425_859) / 54_425_859 < 0.01
    assert model.output_shape == (None, 256, 256, 3)


def test_unet_plan_follows_the_paper_at_256():
    plan = unet_plan(256)
    assert plan["encoder"] == [64, 128, 256, 512, 512, 512, 512, 512]
    # Paper: CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128 (channels received).
    assert plan["decoder_inputs"] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
    assert plan["decoder"] == [512, 512, 512, 512, 256, 128, 64]
    assert plan["dropout"] == [0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]
    # Encoder-decoder baseline: CD512-CD512-CD512-C512-C256-C128-C64.
    baseline = unet_plan(256, skip_connections=False)
    assert baseline["decoder_inputs"][1:] == [512, 512, 512, 512, 256, 128, 64]


@pytest.mark.parametrize("size, depth", [(16, 4), (32, 5), (64, 6), (128, 7), (256, 8), (512, 9)])
def test_depth_is_log2_of_image_size(size, depth):
    assert unet.unet_depth(size) == depth
    assert len(unet_plan(size)["encoder"]) == depth


@pytest.mark.parametrize("size", [32, 64, 128])
def test_unet_shapes_dtype_and_range(size):
    model = unet_generator(size, input_channels=1, output_channels=2, base_filters=4)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 1)).astype("float32")
    y = model(x, training=False)
    assert tuple(y.shape) == (2, size, size, 2)
    assert y.dtype == "float32"
    assert np.all(np.abs(y.numpy()) <= 1.0)
    depth = unet.unet_depth(size)
    convs = _layers_of(model, keras.layers.Conv2D)
    deconvs = _layers_of(model, keras.layers.Conv2DTranspose)
    assert len(convs) == depth and len(deconvs) == depth
    # The bottleneck is 1x1.
    assert model.get_layer(f"enc_conv_{depth - 1}").output.shape[1:3] == (1, 1)


def test_unet_norm_placement_and_dropout():
    model = unet_generator(32, base_filters=4)  # depth 5
    names = {layer.name for layer in model.layers}
    # BatchNorm everywhere but the first and the innermost encoder layers.
    assert "enc_norm_0" not in names and "enc_norm_4" not in names
    assert {"enc_norm_1", "enc_norm_2", "enc_norm_3"} <= names
    assert {f"dec_norm_{i}" for i in range(4)} <= names
    assert model.get_layer("enc_conv_0").use_bias and model.get_layer("enc_conv_4").use_bias
    assert not model.get_layer("enc_conv_1").use_bias
    bns = _layers_of(model, keras.layers.BatchNormalization)
    assert len(bns) == 3 + 4 and all(bn.synchronized for bn in bns)
    drops = _layers_of(model, keras.layers.Dropout)
    assert [d.name for d in drops] == ["dec_dropout_0", "dec_dropout_1", "dec_dropout_2"]
    assert all(d.rate == 0.5 for d in drops)
    assert not _layers_of(unet_generator(32, base_filters=4, dropout=0.0), keras.layers.Dropout)


def test_encoder_decoder_has_no_skip_concatenations():
    unet_model = unet_generator(64, base_filters=4)
    plain = unet_generator(64, base_filters=4, skip_connections=False)
    assert len(_layers_of(unet_model, keras.layers.Concatenate)) == 6 - 1
    assert not _layers_of(plain, keras.layers.Concatenate)
    assert plain.name == "encoder_decoder_generator"
    assert plain.count_params() < unet_model.count_params()
    assert plain.output_shape == unet_model.output_shape


@pytest.mark.parametrize("norm, cls", [("instance", keras.layers.GroupNormalization),
                                       ("none", None)])
def test_unet_other_norms(norm, cls):
    model = unet_generator(32, base_filters=4, norm=norm)
    assert not _layers_of(model, keras.layers.BatchNormalization)
    if cls is not None:
        assert len(_layers_of(model, cls)) == 3 + 4
    assert model(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 32, 32, 3)


@pytest.mark.parametrize("size", [8, 48, 100, 0, -32])
def test_unet_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(size, base_filters=4)


def test_unet_rejects_bad_arguments():
    with pytest.raises(TypeError, match="int"):
        unet_generator(32.0)
    with pytest.raises(ValueError, match="dropout"):
        unet_generator(32, dropout=1.0)
    with pytest.raises(ValueError, match="norm"):
        unet_generator(32, norm="layer")
    with pytest.raises(ValueError, match="base_filters"):
        unet_generator(32, base_filters=0)


# --------------------------------------------------------------- PatchGAN
def test_patchgan_parameter_count_and_output_at_256():
    model = patchgan_discriminator(256)
    # Hand count: 4x4 convs on 6 -> 64 (+bias) -> 128 -> 256 -> 512 (BatchNorm, 4 per
    # channel) -> 1 (+bias).
    expected = (16 * 6 * 64 + 64 + 16 * 64 * 128 + 4 * 128 + 16 * 128 * 256 + 4 * 256 +
                16 * 256 * 512 + 4 * 512 + 16 * 512 + 1)
    assert model.count_params() == expected == 2_770_497
    assert abs(expected - 2_770_433) / 2_770_433 < 0.01  # TF tutorial's count
    assert model.output_shape == (None, 30, 30, 1)
    assert model.output.dtype == "float32"


@pytest.mark.parametrize("field", [1, 16, 70, 286])
def test_receptive_fields_of_the_paper(field):
    assert receptive_field(patchgan_layers(field)) == field
    model = patchgan_discriminator(256, receptive_field=field, base_filters=2)
    assert receptive_field(model) == field
    assert model.output_shape[1] == patchgan_output_size(256, field)


def test_receptive_field_hand_computed():
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(2, 2), (2, 2), (2, 2)]) == 8
    assert receptive_field([]) == 1
    dilated = keras.Sequential([keras.Input((16, 16, 1)),
                                keras.layers.Conv2D(1, 3, dilation_rate=2),
                                keras.layers.MaxPooling2D(2)])
    assert receptive_field(dilated) == 1 + 4 + 1


def test_receptive_field_refuses_upsampling():
    with pytest.raises(ValueError, match="up-samples"):
        receptive_field(unet_generator(32, base_filters=2))


def test_patchgan_layer_configs():
    filters = lambda f: [s["filters"] for s in patchgan_layers(f)]  # noqa: E731
    assert filters(1) == [64, 128, 1]
    assert filters(16) == [64, 128, 1]
    assert filters(70) == [64, 128, 256, 512, 1]
    assert filters(286) == [64, 128, 256, 512, 512, 512, 1]
    assert [s["kernel"] for s in patchgan_layers(1)] == [1, 1, 1]
    assert [s["stride"] for s in patchgan_layers(70)] == [2, 2, 2, 1, 1]
    assert [s["norm"] for s in patchgan_layers(70)] == [False, True, True, True, False]


@pytest.mark.parametrize("field, size", [(1, 32), (16, 32), (70, 32), (70, 64)])
def test_patchgan_is_conditional_and_returns_patch_logits(field, size):
    model = patchgan_discriminator(size, input_channels=1, target_channels=3,
                                   receptive_field=field, base_filters=4)
    rng = np.random.default_rng(0)
    source = rng.uniform(-1, 1, (2, size, size, 1)).astype("float32")
    target = rng.uniform(-1, 1, (2, size, size, 3)).astype("float32")
    out = model([source, target], training=False)
    side = patchgan_output_size(size, field)
    assert tuple(out.shape) == (2, side, side, 1) and out.dtype == "float32"
    # The input image matters: changing it changes the logits.
    other = model([-source, target], training=False)
    assert not np.allclose(out.numpy(), other.numpy())


def test_patchgan_rejects_bad_configs():
    with pytest.raises(ValueError, match="receptive_field must be one of"):
        patchgan_discriminator(64, receptive_field=34)
    with pytest.raises(ValueError, match="too small"):
        patchgan_discriminator(64, receptive_field=286, base_filters=2)
    with pytest.raises(ValueError, match="norm"):
        patchgan_discriminator(64, norm="spectral")
    assert patchgan.RECEPTIVE_FIELDS.keys() == {1, 16, 70, 286}
