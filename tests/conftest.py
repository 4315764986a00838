"""Test session set-up: two logical CPU devices so MirroredStrategy tests run on one CPU.

This must run before TensorFlow initialises its devices, hence at conftest import.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import shutil  # noqa: E402

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:  # already initialised by another plugin; tests needing 2 devices skip
    pass

SHARED_DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


@pytest.fixture
def shared_data():
    """Path to ``../shared/data`` (real MNIST and maps); skips the test when absent."""
    if not os.path.isdir(SHARED_DATA):
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def two_cpu_devices():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs 2 logical CPU devices (TensorFlow was initialised too early)")
    return [d.name for d in devices[:2]]


@pytest.fixture
def mirrored_strategy(two_cpu_devices):
    """One MirroredStrategy over the 2 logical CPUs, shared by every test.

    A second MirroredStrategy over the same devices in one process collides with the
    first one's collective keys, so tests must use this fixture (it goes through the
    library's cached factory) instead of constructing their own.
    """
    from tfgan_pipeline import distribute

    return distribute.get_strategy("mirrored", devices=two_cpu_devices)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1200,1000", "--allow-file-access-from-files"]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's chromium, headless, driven by selenium through the system chromedriver.

    Nothing is downloaded (``apt-get install chromium chromium-driver``; ``.ci/run``
    installs them when absent); without them the test skips and says why.
    """
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.skip(f"no browser here: {', '.join(missing)} missing (apt-get install -y "
                    "chromium chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def broken_images():
    """``driver -> [src of every <img> on the page that did not load]``."""
    script = ("return Array.from(document.images)"
              ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));")
    return lambda driver: driver.execute_script(script)
