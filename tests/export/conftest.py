"""Fixtures for the export tests: tiny generators and one shared pix2pix export."""

import pytest
import tensorflow as tf

from tfgan_pipeline import export

from ._helpers import IMAGE_SIZE, build_gan_generator, build_image_generator


@pytest.fixture
def image_generator():
    return build_image_generator()


@pytest.fixture
def gan_generator():
    return build_gan_generator()


@pytest.fixture(scope="module")
def pix2pix_export(tmp_path_factory):
    """One pix2pix export (with warmup) per test module: (generator, ExportResult, loaded)."""
    generator = build_image_generator()
    output_dir = tmp_path_factory.mktemp("run")
    result = export.export_saved_model(
        output_dir, "pix2pix_tiny", export.pix2pix_signatures(generator, IMAGE_SIZE), generator,
        warmup_requests=export.pix2pix_warmup_requests(IMAGE_SIZE, source_size=48))
    return generator, result, tf.saved_model.load(result.path)
