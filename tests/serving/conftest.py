"""A served folder with tiny models of each kind the page knows (exported in the test)."""

import logging

import pytest

from tfgan_pipeline import serving

from . import _helpers


@pytest.fixture(scope="package")
def served(tmp_path_factory):
    """(server url, manager, {name: (generator, ExportResult)}, serving_dir)."""
    output_dir = tmp_path_factory.mktemp("served_run")
    models = {
        "pix2pix_tiny": _helpers.export_translator(output_dir),
        "dcgan_tiny": _helpers.export_gan(output_dir),
        "cgan_tiny": _helpers.export_conditional(output_dir),
        "cyclegan_tiny": _helpers.export_two_way_translator(output_dir),
        "infogan_tiny": _helpers.export_infogan_like(output_dir),
    }
    serving_dir = output_dir / "export"
    manager = serving.VersionManager(serving_dir, poll_seconds=0.2).start()
    server = serving.DevServer(manager, port=0, log_requests=False,
                               limits=serving.ServerLimits(max_body_bytes=2_000_000,
                                                           max_image_pixels=200 * 200,
                                                           max_image_side=400))
    server.start_background()
    yield server.url, manager, models, serving_dir
    server.shutdown()
    server.server_close()
    manager.stop()


@pytest.fixture
def client(served):
    c = _helpers.Client(served[0])
    yield c
    c.close()


@pytest.fixture(autouse=True)
def _quiet_serving_logs():
    logging.getLogger("tfgan_pipeline.serving").setLevel(logging.WARNING)
