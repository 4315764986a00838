"""Tiny exported models and an in-process server for the serving tests."""

import base64
import http.client
import io
import json
import urllib.parse

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_pipeline import export, networks

IMAGE_SIZE = 32
LATENT_DIM = 8
NUM_CLASSES = 3


def tiny_translator(seed):
    """A 32x32 image-to-image net; different seeds give clearly different outputs."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(h)
    return keras.Model(x, y, name=f"tiny_translator_{seed}")


def export_translator(output_dir, model_name="pix2pix_tiny", seed=0, version=None,
                      write_model_config=True):
    generator = tiny_translator(seed)
    result = export.export_saved_model(
        output_dir, model_name, export.pix2pix_signatures(generator, IMAGE_SIZE), generator,
        version=version, warmup_requests=export.pix2pix_warmup_requests(IMAGE_SIZE, source_size=40),
        write_model_config=write_model_config)
    return generator, result


def export_gan(output_dir, model_name="dcgan_tiny"):
    keras.utils.set_random_seed(1)
    generator = networks.dcgan_generator(LATENT_DIM, image_size=IMAGE_SIZE, channels=3, width=4)
    result = export.export_saved_model(
        output_dir, model_name, export.gan_generator_signatures(generator, LATENT_DIM), generator,
        warmup_requests=export.gan_warmup_requests(LATENT_DIM))
    return generator, result


def export_conditional(output_dir, model_name="cgan_tiny"):
    keras.utils.set_random_seed(2)
    generator = networks.conditional_dcgan_generator(
        LATENT_DIM, NUM_CLASSES, image_size=IMAGE_SIZE, channels=3, width=4)
    result = export.export_saved_model(
        output_dir, model_name,
        export.conditional_generator_signatures(generator, LATENT_DIM, NUM_CLASSES), generator,
        warmup_requests=export.conditional_warmup_requests(LATENT_DIM))
    return generator, result


def export_two_way_translator(output_dir, model_name="cyclegan_tiny"):
    """Two translation directions in one SavedModel, as a CycleGAN export has them."""
    forward, backward = tiny_translator(10), tiny_translator(11)
    signatures = {
        "serving_default": export.pix2pix_signatures(forward, IMAGE_SIZE)["serving_default"],
        "b_to_a": export.pix2pix_signatures(backward, IMAGE_SIZE)["serving_default"],
    }
    result = export.export_saved_model(output_dir, model_name, signatures, [forward, backward])
    return (forward, backward), result


INFOGAN_CODES = (10, 2)  # one 10-way categorical code, 2 continuous codes (InfoGAN's MNIST set-up)
INFOGAN_NOISE = 4


def export_infogan_like(output_dir, model_name="infogan_tiny"):
    """z = [noise, one-hot code, continuous codes] and only serving_default, as the GAN job
    exports InfoGAN (pipeline/gan.py::export_generator)."""
    keras.utils.set_random_seed(3)
    latent = INFOGAN_NOISE + sum(INFOGAN_CODES)
    generator = networks.dcgan_generator(latent, image_size=IMAGE_SIZE, channels=1, width=4)
    signatures = {"serving_default":
                  export.gan_generator_signatures(generator, latent)["serving_default"]}
    result = export.export_saved_model(output_dir, model_name, signatures, generator,
                                       warmup_requests=export.gan_warmup_requests(latent)[:1])
    return generator, result


def png_bytes(seed=0, size=IMAGE_SIZE):
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def decode_png(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class Client:
    """A keep-alive HTTP client; ``request`` returns (status, parsed JSON or raw bytes)."""

    def __init__(self, url, timeout=60):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None, raw=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if raw:
            return response.status, data, response
        return response.status, json.loads(data)

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def close(self):
        if self.conn is not None:
            self.conn.close()
