"""Serving signatures (pix2pix bytes/float, unconditional GAN) through loaded SavedModels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ._helpers import (IMAGE_SIZE, LATENT_DIM, build_gan_generator, build_image_generator,
                       uint8_images)
from tfgan_pipeline import export, models, networks


def _to_model_domain(pixels):
    return pixels.astype(np.float32) / 127.5 - 1.0


def _decode_pngs(png_batch):
    return np.stack([tf.io.decode_png(p).numpy() for p in png_batch.numpy()])


# --------------------------------------------------------------------- pix2pix
def test_serving_float_matches_generator_in_inference_mode(pix2pix_export):
    generator, _, loaded = pix2pix_export
    x = _to_model_domain(uint8_images(3))
    out = loaded.signatures["serving_float"](images=tf.constant(x))["output_images"].numpy()
    expected = generator(x, training=False).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Training mode differs clearly, so this comparison can fail. (On a copy: a
    # training-mode call updates the BatchNorm moving statistics.)
    assert np.abs(build_image_generator()(x, training=True).numpy() - expected).max() > 0.05


def test_png_path_matches_generator_within_one_grey_level(pix2pix_export):
    generator, _, loaded = pix2pix_export
    pixels = uint8_images(2, seed=3)
    pngs = tf.stack([tf.io.encode_png(p) for p in pixels])
    out = loaded.signatures["serving_default"](image_bytes=pngs)["output_png_bytes"]
    decoded = _decode_pngs(out)
    assert decoded.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3) and decoded.dtype == np.uint8
    y = generator(_to_model_domain(pixels), training=False).numpy()
    # Quantisation: the served value is round((y + 1) * 127.5), within half a level.
    assert np.abs(decoded.astype(np.float32) - (y + 1.0) * 127.5).max() <= 0.5 + 1e-3


def test_png_path_accepts_jpeg_grey_and_any_size(pix2pix_export):
    generator, _, loaded = pix2pix_export
    colour = uint8_images(1, height=40, width=56, seed=4)[0]
    grey = uint8_images(1, height=20, width=20, channels=1, seed=5)[0]
    jpeg = tf.io.encode_jpeg(colour).numpy()
    png_grey = tf.io.encode_png(grey).numpy()
    out = loaded.signatures["serving_default"](image_bytes=tf.constant([jpeg, png_grey]))
    decoded = _decode_pngs(out["output_png_bytes"])
    assert decoded.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3)
    # Same preprocessing done by hand: decode -> 3 channels -> antialiased bilinear resize.
    expected_inputs = np.stack([
        tf.image.resize(tf.cast(tf.io.decode_image(b, channels=3), tf.float32),
                        [IMAGE_SIZE, IMAGE_SIZE], antialias=True).numpy()
        for b in (jpeg, png_grey)]) / 127.5 - 1.0
    y = generator(expected_inputs, training=False).numpy()
    assert np.abs(decoded.astype(np.float32) - (y + 1.0) * 127.5).max() <= 0.5 + 1e-3


def test_bilinear_resize_to_the_same_size_is_identity():
    # decode_images relies on this to keep exact-size inputs untouched.
    x = tf.constant(uint8_images(1)[0].astype(np.float32))
    y = tf.image.resize(x, [IMAGE_SIZE, IMAGE_SIZE], method="bilinear", antialias=True)
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_undecodable_bytes_fail_with_a_message_naming_each_entry(pix2pix_export):
    _, _, loaded = pix2pix_export
    good = tf.io.encode_png(uint8_images(1)[0]).numpy()
    batch = tf.constant([good, b"hello, not an image", b"", good[:4]])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        loaded.signatures["serving_default"](image_bytes=batch)
    message = info.value.message
    for i in (1, 2, 3):
        assert f"image_bytes[{i}] is not a decodable PNG or JPEG image" in message
    assert "image_bytes[0]" not in message
    assert "{b64: <base64 of the file>}" in message  # tells a REST client what to send


def test_truncated_png_fails_in_the_decoder_with_invalid_argument(pix2pix_export):
    _, _, loaded = pix2pix_export
    truncated = tf.io.encode_png(uint8_images(1)[0]).numpy()[:40]  # valid signature, no data
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid PNG"):
        loaded.signatures["serving_default"](image_bytes=tf.constant([truncated]))


def test_empty_batch_fails_with_a_clear_message(pix2pix_export):
    _, _, loaded = pix2pix_export
    with pytest.raises(tf.errors.InvalidArgumentError, match="image_bytes is an empty batch"):
        loaded.signatures["serving_default"](image_bytes=tf.constant([], tf.string))


def test_translate_fn_replaces_the_default_generator_call(image_generator):
    def translate(images):
        return -image_generator(images, training=False)

    signatures = export.pix2pix_signatures(image_generator, IMAGE_SIZE, translate_fn=translate)
    x = _to_model_domain(uint8_images(1))
    out = signatures["serving_float"](tf.constant(x))["output_images"].numpy()
    np.testing.assert_allclose(out, -image_generator(x, training=False).numpy(), atol=1e-6)


def test_pix2pix_signatures_reject_wrong_image_size(image_generator):
    with pytest.raises(ValueError, match="image_size=64 but the generator takes 32x32"):
        export.pix2pix_signatures(image_generator, 64)


def test_encode_png_maps_minus_one_zero_one_to_0_128_255():
    # (x + 1) * 127.5 = 0, 127.5 -> round half to even = 128, 255.
    images = tf.constant([[[[-1.0], [0.0], [1.0], [1.7]]]])
    decoded = tf.io.decode_png(export.encode_png(images)[0]).numpy()
    np.testing.assert_array_equal(decoded[0, :, 0], [0, 128, 255, 255])


# ------------------------------------------------------------------------- GAN
@pytest.fixture(scope="module")
def gan_export(tmp_path_factory):
    generator = build_gan_generator()
    result = export.export_saved_model(
        tmp_path_factory.mktemp("gan_run"), "dcgan_tiny",
        export.gan_generator_signatures(generator), generator,
        warmup_requests=export.gan_warmup_requests(LATENT_DIM))
    return generator, tf.saved_model.load(result.path)


def test_gan_serving_default_matches_generator(gan_export):
    generator, loaded = gan_export
    z = np.random.default_rng(0).normal(size=(4, LATENT_DIM)).astype(np.float32)
    out = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(out, generator(z, training=False).numpy(), atol=1e-5)


def test_gan_sample_signature_reproduces_generate_with_seed(gan_export):
    generator, loaded = gan_export
    gan = models.GAN(generator, networks.dcgan_discriminator(image_size=IMAGE_SIZE, width=4),
                     latent_dim=LATENT_DIM)
    out = loaded.signatures["sample"](num_samples=tf.constant(3),
                                      seed=tf.constant(7, tf.int64))["images"].numpy()
    assert out.shape == (3, IMAGE_SIZE, IMAGE_SIZE, 3)
    np.testing.assert_allclose(out, gan.generate(3, seed=7).numpy(), atol=1e-5)
    other = loaded.signatures["sample"](num_samples=tf.constant(3),
                                        seed=tf.constant(8, tf.int64))["images"].numpy()
    assert np.abs(other - out).max() > 1e-3


def test_gan_sample_rejects_out_of_range_num_samples(gan_export):
    _, loaded = gan_export
    for n, text in ((0, "num_samples must be positive"), (1025, "at most 1024")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=text):
            loaded.signatures["sample"](num_samples=tf.constant(n), seed=tf.constant(0, tf.int64))


def test_gan_signatures_need_a_latent_dim_when_the_input_is_not_static():
    generator = keras.Sequential([keras.layers.Dense(2)])  # not built: no static input
    with pytest.raises(ValueError, match="pass latent_dim"):
        export.gan_generator_signatures(generator)
    signatures = export.gan_generator_signatures(generator, latent_dim=3)
    assert signatures["serving_default"].input_signature[0].shape.as_list() == [None, 3]
