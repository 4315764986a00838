"""The experiments' index.html in a real browser: Debian's chromium, headless.

Uses the session ``browser`` fixture of tests/conftest.py (nothing is downloaded;
without chromium/chromedriver the test skips).
"""

import os
import urllib.parse


def test_every_image_loads_and_every_link_resolves(browser, smoke_run):
    from selenium.webdriver.support.ui import WebDriverWait

    out, results, _ = smoke_run
    index = os.path.join(out, "index.html")
    browser.get("file://" + index)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && "
        "Array.from(document.images).every(i => i.complete)"))
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth,"
        " i.naturalHeight])")
    expected = sum(len(r["plots"]) for r in results.values())
    assert len(images) == expected > 0
    broken = [src for src, w, h in images if not (w > 0 and h > 0)]
    assert not broken, f"images that did not load: {broken}"

    links = browser.execute_script(
        "return Array.from(document.links).map(a => [a.getAttribute('href'), a.href])")
    ids = set(browser.execute_script(
        "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    assert links
    for raw, resolved in links:
        assert not raw.startswith(("http:", "https:", "/")), f"non-relative link {raw!r}"
        if raw.startswith("#"):
            assert raw[1:] in ids, f"dangling anchor {raw!r}"
            continue
        path = urllib.parse.unquote(urllib.parse.urlparse(resolved).path)
        assert os.path.isfile(path), f"link {raw!r} -> missing {path}"
    # One section per experiment, each with its verdict words visible.
    text = browser.find_element("tag name", "body").text
    for result in results.values():
        assert result["title"] in text
    assert "held" in text
