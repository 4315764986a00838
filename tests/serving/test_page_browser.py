"""The page in a real browser: Debian's chromium, headless, driven through chromedriver.

Nothing is downloaded: selenium is pointed at /usr/bin/chromedriver and
/usr/bin/chromium (``apt-get install chromium chromium-driver``; ``.ci/run`` installs
them when absent). Without them the tests skip and say so.
"""

import base64

import numpy as np

from ._helpers import IMAGE_SIZE, NUM_CLASSES, Client, b64, decode_png, png_bytes

def _wait(driver, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition))


def _page_state(driver):
    return driver.execute_script(
        "return [document.body.dataset.state, document.getElementById('error').textContent]")


_CANVAS_PIXELS = """
const el = document.querySelector(arguments[0]);
const c = document.createElement('canvas');
c.width = el.naturalWidth || el.width; c.height = el.naturalHeight || el.height;
const ctx = c.getContext('2d');
ctx.drawImage(el, 0, 0);
return [c.width, c.height, Array.from(ctx.getImageData(0, 0, c.width, c.height).data)];
"""


def _rgb(width, height, rgba):
    return np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3]


def test_upload_shows_exactly_the_predict_answer(browser, served, tmp_path):
    url = served[0]
    browser.get(f"{url}/?model=pix2pix_tiny")
    _wait(browser, "return !document.getElementById('translate-panel').hidden")
    image = png_bytes(21, size=40)
    path = tmp_path / "input.png"
    path.write_bytes(image)
    browser.find_element("id", "upload").send_keys(str(path))
    _wait(browser, "const r = document.getElementById('result');"
                   "return document.body.dataset.state === 'error' || "
                   "(!r.hidden && r.complete && r.naturalWidth > 0)")
    assert _page_state(browser)[0] == "done", _page_state(browser)

    status, answer = Client(url).post("/v1/models/pix2pix_tiny:predict",
                                      {"instances": [{"b64": b64(image)}]})
    assert status == 200
    expected_png = base64.b64decode(answer["predictions"][0]["b64"])
    src = browser.find_element("id", "result").get_attribute("src")
    assert src == "data:image/png;base64," + answer["predictions"][0]["b64"]
    width, height, rgba = browser.execute_script(_CANVAS_PIXELS, "#result")
    assert (width, height) == (IMAGE_SIZE, IMAGE_SIZE)
    np.testing.assert_array_equal(_rgb(width, height, rgba), decode_png(expected_png))
    assert browser.find_element("id", "answer-version").text == "1"
    assert "pix2pix_tiny" in browser.find_element("id", "answer").text
    assert browser.find_element("id", "download").get_attribute("href") == src


def test_latent_grid_pixels_equal_predict_for_the_same_z(browser, served):
    url = served[0]
    browser.get(f"{url}/?model=dcgan_tiny")
    _wait(browser, "return document.querySelectorAll('#grid canvas').length === 16 && "
                   "['done', 'error'].includes(document.body.dataset.state)")
    assert _page_state(browser)[0] == "done", _page_state(browser)
    grid_request = browser.execute_script(
        "return window.tfgan.requests.find(r => r.instances.length === 16)")
    z = np.asarray(grid_request["instances"], np.float64)
    assert z.shape == (16, 8)
    assert abs(z.mean()) < 0.5 and 0.6 < z.std() < 1.4  # standard normals from the seeds
    status, answer = Client(url).post("/v1/models/dcgan_tiny:predict", grid_request)
    assert status == 200
    expected = np.asarray(answer["predictions"], np.float64)
    for cell in (0, 15):
        width, height, rgba = browser.execute_script(_CANVAS_PIXELS, f"#grid canvas:nth-child({cell + 1})")
        # the page maps [-1, 1] to round((x + 1) * 127.5), JS rounding (half up)
        want = np.clip(np.floor((expected[cell] + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(_rgb(width, height, rgba), want)
    sliders = browser.find_elements("css selector", "#sliders input[type=range]")
    assert len(sliders) == 8
    # an unconditional GAN with a "sample" signature: no class picker, no InfoGAN codes
    assert not browser.find_element("id", "infogan-layout").is_displayed()
    assert not browser.find_element("id", "class-picker-label").is_displayed()
    assert not browser.find_element("id", "translate-panel").is_displayed()


def test_conditional_model_gets_a_class_picker(browser, served):
    browser.get(f"{served[0]}/?model=cgan_tiny")
    _wait(browser, "return document.querySelectorAll('#grid canvas').length === 16 && "
                   "['done', 'error'].includes(document.body.dataset.state)")
    assert _page_state(browser)[0] == "done", _page_state(browser)
    options = browser.execute_script(
        "return Array.from(document.getElementById('class-picker').options).map(o => o.value)")
    assert options == [str(k) for k in range(NUM_CLASSES)]
    assert browser.find_element("id", "class-picker").is_displayed()
    labels = browser.execute_script(
        "return window.tfgan.requests.find(r => r.instances.length === 16).instances"
        ".map(i => i.label)")
    assert labels == [0] * 16


def test_two_way_translator_swaps_direction(browser, served, tmp_path):
    url = served[0]
    browser.get(f"{url}/?model=cyclegan_tiny")
    _wait(browser, "return !document.getElementById('translate-panel').hidden && "
                   "['done', 'error'].includes(document.body.dataset.state)")
    assert browser.find_element("id", "swap-direction").is_displayed()
    image = png_bytes(22)
    path = tmp_path / "input.png"
    path.write_bytes(image)
    browser.find_element("id", "upload").send_keys(str(path))
    _wait(browser, "return document.body.dataset.state === 'done' && "
                   "document.getElementById('result').naturalWidth > 0")
    answers = {}
    for signature in ("serving_default", "b_to_a"):
        status, answer = Client(url).post("/v1/models/cyclegan_tiny:predict", {
            "signature_name": signature, "instances": [{"b64": b64(image)}]})
        assert status == 200
        answers[signature] = "data:image/png;base64," + answer["predictions"][0]["b64"]
    assert answers["serving_default"] != answers["b_to_a"]
    assert browser.find_element("id", "result").get_attribute("src") == answers["serving_default"]
    browser.find_element("id", "swap-direction").click()
    _wait(browser, "return document.body.dataset.state === 'done' && "
                   f"document.getElementById('result').src === {answers['b_to_a']!r}")
    assert "b_to_a" in browser.find_element("id", "direction-label").text


def test_infogan_codes_shape_z(browser, served):
    from ._helpers import INFOGAN_CODES, INFOGAN_NOISE

    browser.get(f"{served[0]}/?model=infogan_tiny")
    _wait(browser, "return document.querySelectorAll('#grid canvas').length === 16 && "
                   "['done', 'error'].includes(document.body.dataset.state)")
    assert _page_state(browser)[0] == "done", _page_state(browser)
    assert browser.find_element("id", "infogan-layout").is_displayed()
    categories, continuous = INFOGAN_CODES
    z = np.asarray(browser.execute_script(
        "return window.tfgan.requests.find(r => r.instances.length === 16).instances"))
    one_hot = np.zeros(categories)
    one_hot[0] = 1
    np.testing.assert_array_equal(z[:, INFOGAN_NOISE:INFOGAN_NOISE + categories],
                                  np.tile(one_hot, (16, 1)))
    np.testing.assert_array_equal(z[:, INFOGAN_NOISE + categories:], np.zeros((16, continuous)))
    assert len(browser.find_elements("css selector", "#sliders input")) == INFOGAN_NOISE
    select = browser.find_element("css selector", "#codes select")
    from selenium.webdriver.support.ui import Select

    Select(select).select_by_value("3")
    _wait(browser, "const r = window.tfgan.lastRequest.instances;"
                   "return document.body.dataset.state === 'done' && r.length === 16 && "
                   f"r[0][{INFOGAN_NOISE + 3}] === 1")
    z = np.asarray(browser.execute_script("return window.tfgan.lastRequest.instances"))
    one_hot = np.zeros(categories)
    one_hot[3] = 1
    np.testing.assert_array_equal(z[:, INFOGAN_NOISE:INFOGAN_NOISE + categories],
                                  np.tile(one_hot, (16, 1)))
    # the grid answer is drawn from the model's 1-channel images
    width, height, rgba = browser.execute_script(_CANVAS_PIXELS, "#grid canvas")
    pixels = np.asarray(rgba).reshape(height, width, 4)
    assert (width, height) == (IMAGE_SIZE, IMAGE_SIZE)
    assert np.array_equal(pixels[..., 0], pixels[..., 1])  # gray
