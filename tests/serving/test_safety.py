"""Safe by default: loopback bind, bounded bodies and images, no path outside serving_dir."""

import os
import socket
import struct
import time
import zlib

import pytest
import tensorflow as tf

from tfgan_pipeline import serving

from ._helpers import Client, b64, export_translator, png_bytes


def _raw(url, request, timeout=10):
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")]
                if length and len(rest) >= length[0]:
                    break
    return data


def _still_serving(url):
    status, _ = Client(url).post("/v1/models/pix2pix_tiny:predict",
                                 {"instances": [{"b64": b64(png_bytes(0))}]})
    assert status == 200


def test_binds_loopback_by_default(served):
    server = serving.DevServer(served[1], port=0, log_requests=False)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    from pipelines import serve  # the CLI default too
    assert serve.FLAGS["host"].default == "127.0.0.1"


def test_body_over_the_limit_is_413_unread(served):
    url = served[0]
    head = (b"POST /v1/models/pix2pix_tiny:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n")
    reply = _raw(url, head + b"{")  # the server answers without waiting for 3 MB
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"--max_body_bytes" in reply and b"3000000 bytes" in reply
    _still_serving(url)


def test_an_oversized_body_sent_whole_still_gets_its_413(served):
    client = Client(served[0])
    status, body = client.post("/v1/models/pix2pix_tiny:predict", b"x" * 3_000_000)
    assert status == 413 and "--max_body_bytes" in body["error"]


def test_expect_100_continue_is_refused_before_the_body(served):
    reply = _raw(served[0], b"POST /v1/models/pix2pix_tiny:predict HTTP/1.1\r\nHost: localhost\r\n"
                 b"Expect: 100-continue\r\nContent-Length: 3000000\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413") and b"100 Continue" not in reply
    reply = _raw(served[0], b"POST /v1/models/nope:predict HTTP/1.1\r\nHost: localhost\r\n"
                 b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
    assert reply.startswith(b"HTTP/1.1 100 Continue") and b"HTTP/1.1 404" in reply


def test_chunked_bodies_are_refused(served):
    reply = _raw(served[0], b"POST /v1/models/pix2pix_tiny:predict HTTP/1.1\r\nHost: localhost\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411") and b"Content-Length" in reply
    _still_serving(served[0])


def _forged_png(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


@pytest.mark.parametrize("image, shown", [
    (tf.io.encode_png(tf.zeros([300, 300, 3], tf.uint8)).numpy(), "300x300"),   # 90000 > 40000
    (tf.io.encode_jpeg(tf.zeros([50, 500, 3], tf.uint8)).numpy(), "500x50"),    # side 500 > 400
    (_forged_png(100_000, 100_000), "100000x100000"),                           # a 45-byte bomb
])
def test_images_over_the_limits_are_400_before_decoding(client, served, image, shown):
    status, body = client.post("/v1/models/pix2pix_tiny:predict",
                               {"instances": [{"b64": b64(png_bytes(1))}, {"b64": b64(image)}]})
    assert status == 400
    assert f"image_bytes[1] is a {shown} image" in body["error"]
    assert "--max_image_pixels" in body["error"]
    _still_serving(served[0])


def test_foreign_host_header_is_refused_on_loopback(served):
    reply = _raw(served[0], b"GET /v1/models/pix2pix_tiny HTTP/1.1\r\nHost: evil.example:8501\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403") and b"evil.example" in reply
    reply = _raw(served[0], b"GET /v1/models/pix2pix_tiny HTTP/1.1\r\nHost: localhost:1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("path", [
    "/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fserver.py", "/static/",
    "/static", "/static/app.js/", "/tfgan_pipeline/serving/server.py", "/server.py",
    "/..%2f..%2fetc/passwd", "/static//etc/passwd", "/static/.hidden", "/favicon.ico",
])
def test_only_the_packaged_page_files_are_served_no_listing(client, path):
    status, body, _ = client.request("GET", path, raw=True)
    assert status == 404, body[:200]
    assert b"import" not in body and b"root:" not in body and b"<a href" not in body


def test_page_and_its_files(client):
    status, body, response = client.request("GET", "/", raw=True)
    assert status == 200 and response.getheader("Content-Type").startswith("text/html")
    assert b'<meta name="tfgan-models" content="cgan_tiny,cyclegan_tiny,dcgan_tiny,infogan_tiny,pix2pix_tiny">' in body
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        status, body, response = client.request("GET", f"/static/{name}", raw=True)
        assert status == 200 and response.getheader("Content-Type").startswith(kind)
    assert b"cdn" not in client.request("GET", "/", raw=True)[1].lower()  # works offline


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/models/..%2F..%2Fetc%2Fpasswd"), ("GET", "/v1/models/%2E%2E/metadata"),
    ("GET", "/v1/models/.hidden"), ("POST", "/v1/models/..:predict"),
    ("POST", "/v1/models/%2Fetc%2Fpasswd:predict"), ("GET", "/v1/models/123"),
])
def test_model_names_are_validated(client, method, path):
    status, body = client.request(method, path, b"{}" if method == "POST" else None)
    assert status == 404 and "is not a valid model name" in body["error"], body


def test_connections_beyond_the_limit_get_503(served):
    server = serving.DevServer(served[1], port=0, log_requests=False,
                               limits=serving.ServerLimits(max_connections=1))
    server.start_background()
    try:
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as first:
            first.sendall(b"GET /v1/models/pix2pix_tiny HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert first.recv(65536).startswith(b"HTTP/1.1 200")  # stays open (keep-alive)
            second = _raw(server.url, b"GET /v1/models/pix2pix_tiny HTTP/1.1\r\nHost: x\r\n\r\n")
            assert second.startswith(b"HTTP/1.1 503") and b"--max_connections" in second
        for _ in range(100):  # the slot frees when the first connection closes
            if _raw(server.url, b"GET /v1/models/pix2pix_tiny HTTP/1.1\r\nHost: localhost\r\n"
                    b"Connection: close\r\n\r\n").startswith(b"HTTP/1.1 200"):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the connection slot was never released")
    finally:
        server.shutdown()
        server.server_close()


def test_symlinks_out_of_serving_dir_are_refused(tmp_path):
    outside = tmp_path / "outside"
    _, secret = export_translator(outside, "secret", seed=3)
    run = tmp_path / "run"
    _, normal = export_translator(run, "normal", seed=0)
    serving_dir = run / "export"
    os.symlink(secret.base_path, serving_dir / "secret")             # a model folder
    os.symlink(secret.path, os.path.join(normal.base_path, "2"))     # a version folder
    v3 = os.path.join(normal.base_path, "3")                        # a file inside a version
    os.makedirs(os.path.join(v3, "variables"))
    for name in ("saved_model.pb", "fingerprint.pb"):
        if os.path.exists(os.path.join(normal.path, name)):
            os.link(os.path.join(normal.path, name), os.path.join(v3, name))
    for name in os.listdir(os.path.join(secret.path, "variables")):
        os.symlink(os.path.join(secret.path, "variables", name), os.path.join(v3, "variables", name))
    manager = serving.VersionManager(serving_dir, model_names=["normal", "secret"],
                                     poll_seconds=0).start()
    server = serving.DevServer(manager, port=0, log_requests=False)
    server.start_background()
    client = Client(server.url)
    try:
        status, body = client.get("/v1/models/secret")
        assert status == 404 and "outside --serving_dir" in body["error"]
        assert client.post("/v1/models/secret:predict",
                           {"instances": [{"b64": b64(png_bytes(0))}]})[0] == 404
        status, body = client.get("/v1/models/normal")
        states = {s["version"]: (s["state"], s["status"]["error_code"])
                  for s in body["model_version_status"]}
        assert states == {"3": ("END", "PERMISSION_DENIED"), "2": ("END", "PERMISSION_DENIED"),
                          "1": ("AVAILABLE", "OK")}
        assert client.post("/v1/models/normal/versions/2:predict",
                           {"instances": [{"b64": b64(png_bytes(0))}]})[0] == 404
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_a_refused_version_is_reported_once_not_every_poll(tmp_path, caplog):
    outside = tmp_path / "outside"
    _, secret = export_translator(outside, "secret", seed=3)
    run = tmp_path / "run"
    _, normal = export_translator(run, "normal", seed=0)
    os.symlink(secret.path, os.path.join(normal.base_path, "2"))
    with caplog.at_level("ERROR", logger="tfgan_pipeline.serving"):
        manager = serving.VersionManager(run / "export", poll_seconds=0).start()
        for _ in range(3):
            manager.poll_once()
    reports = [r for r in caplog.records if "version 2 not loaded" in r.getMessage()]
    assert len(reports) == 1  # at start-up, not again on each of the 3 polls
    assert manager.status("normal")[0]["error_code"] == "PERMISSION_DENIED"
