"""The run report in a real browser: every image loads, every link resolves."""

import pytest

from tfgan_pipeline import config as config_lib
from tfgan_pipeline.monitoring import report as html_lib
from tfgan_pipeline.pipeline import jobs

pytestmark = pytest.mark.slow


def test_report_page_renders_every_image_in_chromium(tmp_path, browser, broken_images):
    cfg = config_lib.GANConfig(dataset="ring8", output_dir=str(tmp_path), train_steps=20,
                               checkpoint_every=10, batch_size=32, num_samples=300,
                               pipeline_name="ring")
    result = jobs.run_job(cfg, log=lambda s: None)
    assert html_lib.check_report_links(result.report_path) == []
    browser.get("file://" + result.report_path)
    images = browser.execute_script("return document.images.length")
    assert images >= 5  # curve panels, sample grids, the evaluation scatter plot
    assert broken_images(browser) == []
    text = browser.find_element("tag name", "body").text
    assert "BLESSED" in text and "Lineage of this run" in text
    assert "trivial baseline" in text and "real vs real (floor)" in text
