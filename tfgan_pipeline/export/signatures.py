"""Serving signatures each model family declares for :func:`export_saved_model`.

A family's whole export contribution is a dict ``{signature name: tf.function with
an input_signature}`` plus a few representative warmup requests; versioning,
variable tracking, warmup files and ``models.config`` are the exporter's job
(:mod:`tfgan_pipeline.export.saved_model`).

* pix2pix -- Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional
  Adversarial Networks", CVPR 2017. ``serving_default`` takes encoded images of any
  size (PNG or JPEG bytes, the only practical payload for a REST client) and
  returns PNG bytes of the translated ``image_size x image_size`` image;
  ``serving_float`` takes and returns float tensors in [-1, 1], the generator's own
  domain. Sec. 3.3 of the paper keeps dropout (and batch statistics) active at test
  time; inference-mode behaviour is a choice of ``translate_fn`` (the Pix2Pix
  model's ``make_translate_fn``), defaulting to ``generator(x, training=False)``.
* unconditional GANs -- Goodfellow et al., "Generative Adversarial Nets", NeurIPS
  2014, Sec. 3 (samples are ``G(z)``, ``z ~ p_z``); DCGAN (Radford et al., ICLR
  2016) and the WGAN family share it. ``serving_default`` maps given ``z`` to
  samples; ``sample`` draws ``z ~ N(0, I)`` from a seed, reproducing
  ``GANBase.generate(num_samples, seed)`` exactly.

Names ending in ``_bytes`` matter: TF Serving's REST API treats such inputs and
outputs as binary, exchanged as ``{"b64": "..."}`` in JSON.
"""

import numpy as np
import tensorflow as tf

from tfgan_pipeline.export.warmup import WarmupRequest

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
NOT_AN_IMAGE_MESSAGE = "is not a decodable PNG or JPEG image"


# ----------------------------------------------------------------- image codec
def assert_png_or_jpeg(image_bytes, input_name="image_bytes"):
    """Returns an op that fails with InvalidArgument naming every non-PNG/JPEG entry.

    The check reads the file signatures (PNG: ``89 50 4E 47 0D 0A 1A 0A``, JPEG:
    ``FF D8 FF``). Bytes that start like a PNG/JPEG but are truncated or corrupt
    still fail with InvalidArgument, in the decoder, whose message says "Invalid
    PNG" / "Invalid JPEG data" but not which entry.
    """
    is_png = tf.equal(tf.strings.substr(image_bytes, 0, len(_PNG_MAGIC)), _PNG_MAGIC)
    is_jpeg = tf.equal(tf.strings.substr(image_bytes, 0, len(_JPEG_MAGIC)), _JPEG_MAGIC)
    ok = tf.logical_or(is_png, is_jpeg)
    bad = tf.strings.as_string(tf.reshape(tf.where(tf.logical_not(ok)), [-1]))
    message = tf.strings.reduce_join(
        tf.strings.join([f"{input_name}[", bad, f"] {NOT_AN_IMAGE_MESSAGE}"]), separator="; ")
    hint = (f". Send the raw bytes of PNG or JPEG files in {input_name}; over REST, "
            "base64-encode each file as {b64: <base64 of the file>}.")
    return tf.debugging.Assert(tf.reduce_all(ok), [tf.strings.join([message, hint])])


def decode_images(image_bytes, image_size, channels=3):
    """Decodes a batch of PNG/JPEG bytes to ``[N, S, S, channels]`` float32 in [-1, 1].

    Each image, whatever its size, is resized to ``image_size`` with bilinear
    interpolation (antialiased when shrinking; an exact identity when the size
    already matches), then scaled with ``x / 127.5 - 1`` like the training data.
    """
    image_size, channels = int(image_size), int(channels)
    check = assert_png_or_jpeg(image_bytes)
    with tf.control_dependencies([check]):
        image_bytes = tf.identity(image_bytes)

    def decode_one(data):
        image = tf.io.decode_image(data, channels=channels, dtype=tf.uint8,
                                   expand_animations=False)
        # Bilinear resize to the same size is an exact identity (checked in the tests).
        image = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size],
                                method="bilinear", antialias=True)
        return image / 127.5 - 1.0

    return tf.map_fn(decode_one, image_bytes,
                     fn_output_signature=tf.TensorSpec([image_size, image_size, channels],
                                                       tf.float32))


def to_uint8(images):
    """Maps [-1, 1] floats to uint8 pixels: ``round((x + 1) * 127.5)``, clipped."""
    images = tf.cast(images, tf.float32)
    return tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)), tf.uint8)


def encode_png(images):
    """Encodes ``[N, H, W, C]`` floats in [-1, 1] as ``[N]`` PNG byte strings."""
    return tf.map_fn(tf.io.encode_png, to_uint8(images),
                     fn_output_signature=tf.TensorSpec([], tf.string))


# ------------------------------------------------------------------- helpers
def assert_non_empty_batch(tensor, input_name):
    """Returns ``tensor`` behind a check that its batch is not empty.

    An empty batch would otherwise fail deep inside the generator with an
    unrelated shape error.
    """
    check = tf.debugging.assert_positive(
        tf.shape(tensor)[0],
        message=f"{input_name} is an empty batch; send at least one example")
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def _static_shape(tensors):
    try:
        return tuple(tensors[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _positive_int(value, name):
    if isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


# -------------------------------------------------------------------- pix2pix
def pix2pix_signatures(generator, image_size, translate_fn=None, channels=None):
    """Declares the pix2pix serving signatures.

    Args:
      generator: the image-to-image ``keras.Model`` (e.g. a U-Net), ``[N, S, S, C]``
        in [-1, 1] to ``[N, S, S, C_out]`` in [-1, 1].
      image_size: ``S``, the size the generator was trained on.
      translate_fn: ``float32 images -> images`` to serve, traceable in a
        ``tf.function`` and never mutating variables (e.g.
        ``tfgan_pipeline.models.pix2pix.make_translate_fn(generator, mode)``).
        ``None`` serves ``generator(x, training=False)``.
      channels: input channels (1 or 3); ``None`` reads them from the generator's
        input shape (3 when unknown).

    Returns:
      ``{"serving_default": image_bytes [N] string -> output_png_bytes [N] string,
      "serving_float": images [N, S, S, C] float32 -> output_images float32}``.
      Pass ``variables_owner=generator`` to the exporter.
    """
    image_size = _positive_int(image_size, "image_size")
    in_shape = _static_shape(getattr(generator, "inputs", None))
    if in_shape is not None and len(in_shape) == 4:
        for dim in in_shape[1:3]:
            if dim is not None and dim != image_size:
                raise ValueError(f"image_size={image_size} but the generator takes "
                                 f"{in_shape[1]}x{in_shape[2]} images; pass its training size.")
        if channels is None and in_shape[3] is not None:
            channels = in_shape[3]
    channels = 3 if channels is None else int(channels)
    if channels not in (1, 3):
        raise ValueError(
            f"pix2pix serving decodes 1- or 3-channel images, got channels={channels}.")
    if translate_fn is None:
        def translate_fn(images):
            return generator(images, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serving_default(image_bytes):
        image_bytes = assert_non_empty_batch(image_bytes, "image_bytes")
        images = decode_images(image_bytes, image_size, channels)
        return {"output_png_bytes": encode_png(translate_fn(images))}

    @tf.function(input_signature=[
        tf.TensorSpec([None, image_size, image_size, channels], tf.float32, name="images")])
    def serving_float(images):
        images = assert_non_empty_batch(images, "images")
        return {"output_images": tf.cast(translate_fn(images), tf.float32)}

    return {"serving_default": serving_default, "serving_float": serving_float}


def sample_image(height, width, channels=3):
    """A deterministic, non-constant uint8 test pattern (gradients + a square)."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([255.0 * x / max(width - 1, 1), 255.0 * y / max(height - 1, 1),
                      127.0 + 0.0 * x], axis=-1)[..., :channels]
    image[height // 4:height // 2, width // 4:width // 2] = 255.0 - image[
        height // 4:height // 2, width // 4:width // 2]
    return np.round(image).astype(np.uint8)


def pix2pix_warmup_requests(image_size, channels=3, source_size=None):
    """Representative warmup requests for :func:`pix2pix_signatures`.

    One PNG and one JPEG through ``serving_default`` (both decoders, the resize
    path when ``source_size`` differs) and one float batch through
    ``serving_float``.

    Args:
      image_size: the served size ``S``.
      channels: input channels.
      source_size: size of the encoded warmup images (default ``image_size``);
        use the size clients send, e.g. 600 for the maps photos.
    """
    image_size = _positive_int(image_size, "image_size")
    source_size = image_size if source_size is None else _positive_int(source_size, "source_size")
    pixels = sample_image(source_size, source_size, channels)
    png = tf.io.encode_png(pixels).numpy()
    jpeg = tf.io.encode_jpeg(pixels).numpy()
    floats = sample_image(image_size, image_size, channels).astype(np.float32)[None] / 127.5 - 1.0
    return [
        WarmupRequest("serving_default", {"image_bytes": [png]}),
        WarmupRequest("serving_default", {"image_bytes": [jpeg]}),
        WarmupRequest("serving_float", {"images": floats}),
    ]


def _stateless_latent(num_samples, seed, latent_dim, max_samples):
    """``z = stateless_normal([num_samples, latent_dim], seed=[seed, 0])`` after range checks.

    The same noise as ``GANBase.generate(num_samples, seed=seed)``.
    """
    checks = [
        tf.debugging.assert_positive(num_samples, message="num_samples must be positive"),
        tf.debugging.assert_less_equal(
            num_samples, max_samples,
            message=f"num_samples must be at most {max_samples} per request"),
    ]
    with tf.control_dependencies(checks):
        return tf.random.stateless_normal(tf.stack([num_samples, latent_dim]),
                                          seed=tf.stack([seed, tf.constant(0, tf.int64)]))


# ------------------------------------------------------- unconditional GANs
def gan_generator_signatures(generator, latent_dim=None, max_samples=1024):
    """Declares the signatures of an unconditional generator ``z -> x``.

    Args:
      generator: ``keras.Model`` taking ``[N, latent_dim]``.
      latent_dim: size of ``z``; ``None`` reads it from the generator's input.
      max_samples: largest ``num_samples`` the ``sample`` signature accepts (a
        request for more fails with InvalidArgument instead of exhausting memory).

    Returns:
      ``{"serving_default": z [N, latent_dim] float32 -> images float32,
      "sample": num_samples int32 scalar, seed int64 scalar -> images float32}``.
      ``sample`` draws ``z = stateless_normal([num_samples, latent_dim], seed=[seed, 0])``,
      the same noise as ``GANBase.generate(num_samples, seed=seed)``.
    """
    if latent_dim is None:
        in_shape = _static_shape(getattr(generator, "inputs", None))
        if in_shape is None or len(in_shape) != 2 or in_shape[1] is None:
            raise ValueError("latent_dim is None and the generator has no static [N, latent_dim] "
                             "input; pass latent_dim.")
        latent_dim = in_shape[1]
    latent_dim = _positive_int(latent_dim, "latent_dim")
    max_samples = _positive_int(max_samples, "max_samples")

    def run(z):
        return {"images": tf.cast(generator(z, training=False), tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")])
    def serving_default(z):
        return run(assert_non_empty_batch(z, "z"))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                  tf.TensorSpec([], tf.int64, name="seed")])
    def sample(num_samples, seed):
        z = _stateless_latent(num_samples, seed, latent_dim, max_samples)
        return run(z)

    return {"serving_default": serving_default, "sample": sample}


def gan_warmup_requests(latent_dim):
    """Representative warmup requests for :func:`gan_generator_signatures`."""
    latent_dim = _positive_int(latent_dim, "latent_dim")
    return [
        WarmupRequest("serving_default", {"z": np.zeros([1, latent_dim], np.float32)}),
        WarmupRequest("sample", {"num_samples": np.int32(1), "seed": np.int64(0)}),
    ]


# ------------------------------------------------------- conditional GANs
def conditional_generator_signatures(generator, latent_dim, num_classes, max_samples=1024):
    """Declares the signatures of a class-conditional generator ``[z, label] -> x``.

    Args:
      generator: ``keras.Model`` taking ``[z [N, latent_dim], label int32 [N]]`` (e.g.
        :func:`tfgan_pipeline.networks.conditional_dcgan_generator`).
      latent_dim: size of ``z``.
      num_classes: labels must lie in ``[0, num_classes)``; others fail with
        InvalidArgument (the one-hot layer would silently map them to zeros).
      max_samples: largest ``num_samples`` the ``sample`` signature accepts.

    Returns:
      ``{"serving_default": z float32 [N, latent_dim], label int32 [N] -> images,
      "sample": num_samples int32, seed int64, label int32 (scalars) -> images}``;
      ``sample`` draws the same ``z`` as ``ConditionalGAN.generate(n, labels=label,
      seed=seed)``.
    """
    latent_dim = _positive_int(latent_dim, "latent_dim")
    num_classes = _positive_int(num_classes, "num_classes")
    max_samples = _positive_int(max_samples, "max_samples")

    def run(z, label):
        checks = [tf.debugging.assert_non_negative(label, message="label must be >= 0"),
                  tf.debugging.assert_less(label, num_classes,
                                           message=f"label must be < num_classes={num_classes}")]
        with tf.control_dependencies(checks):
            label = tf.identity(label)
        return {"images": tf.cast(generator([z, label], training=False), tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z"),
                                  tf.TensorSpec([None], tf.int32, name="label")])
    def serving_default(z, label):
        return run(assert_non_empty_batch(z, "z"), label)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                  tf.TensorSpec([], tf.int64, name="seed"),
                                  tf.TensorSpec([], tf.int32, name="label")])
    def sample(num_samples, seed, label):
        z = _stateless_latent(num_samples, seed, latent_dim, max_samples)
        return run(z, tf.fill([num_samples], label))

    return {"serving_default": serving_default, "sample": sample}


def conditional_warmup_requests(latent_dim):
    """Representative warmup requests for :func:`conditional_generator_signatures`."""
    latent_dim = _positive_int(latent_dim, "latent_dim")
    return [
        WarmupRequest("serving_default", {"z": np.zeros([1, latent_dim], np.float32),
                                          "label": np.zeros([1], np.int32)}),
        WarmupRequest("sample", {"num_samples": np.int32(1), "seed": np.int64(0),
                                 "label": np.int32(0)}),
    ]
