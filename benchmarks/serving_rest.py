"""Throughput and latency of ``:predict`` on the development server vs the bare SavedModel.

Exports a 256x256 pix2pix U-Net generator (Isola et al., CVPR 2017, Sec. 3.2.1: the
paper's architecture, random weights; or pass ``--serving_dir``/``--model_name`` of a
real export), starts ``python -m pipelines.serve`` on it as a separate process (as a
user runs it) and sends one 256x256 PNG per request as TF Serving's row format
(``{"instances": [{"b64": ...}]}``), reading back ``predictions[0].b64``. The
baseline is the same SavedModel's ``serving_default`` signature called in this
process (``tf.saved_model.load``) on the same PNG: decode + generator + PNG encode,
without HTTP and JSON.

* 1 client: HTTP and bare calls interleaved one by one, so load drifts hit both.
* 4 clients: 4 threads, each with its own keep-alive connection (HTTP) or calling
  the signature concurrently (bare); requests/s = all requests / wall time.
  Rounds alternate bare / HTTP.

Prints requests/s and p50/p95 latency per mode, and the HTTP/bare p50 ratios
(target: <= 1.3x with one client). Figures only; nothing is asserted.

Usage::

    python benchmarks/serving_rest.py [--runs 40] [--warmup 5] [--clients 4]
        [--requests_per_client 10] [--base_filters 64]
        [--serving_dir DIR --model_name NAME]
"""

import argparse
import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf

from tfgan_pipeline import export, networks
from tfgan_pipeline.export.signatures import sample_image

IMAGE_SIZE = 256
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="timed 1-client requests per path")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per path first")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (2nd phase)")
    parser.add_argument("--requests_per_client", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="alternating concurrent rounds")
    parser.add_argument("--base_filters", type=int, default=64, help="U-Net width (64 = paper)")
    parser.add_argument("--serving_dir", default=None,
                        help="serve an existing export folder instead of exporting one")
    parser.add_argument("--model_name", default="pix2pix_bench")
    return parser.parse_args()


def _request_png():
    """A photo-like 256x256 PNG: smooth pattern plus sensor-like noise."""
    rng = np.random.default_rng(0)
    pixels = sample_image(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)
    pixels += rng.normal(0.0, 12.0, pixels.shape)
    return tf.io.encode_png(np.clip(np.round(pixels), 0, 255).astype(np.uint8)).numpy()


def _start_server(serving_dir, model_name):
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.serve", f"--serving_dir={serving_dir}",
         f"--model_name={model_name}", "--port=0", "--poll_seconds=0", "--nolog_requests"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the server exited before printing its URL")
        if line.startswith("Serving "):
            return process, line.split()[1].rstrip("/")


class _HttpClient:
    def __init__(self, url, path, body):
        host, port = url.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=600)
        self.path, self.body = path, body

    def __call__(self):
        self.conn.request("POST", self.path, body=self.body,
                          headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
        return base64.b64decode(json.loads(data)["predictions"][0]["b64"])


def _percentiles(samples_s):
    ms = 1000.0 * np.asarray(samples_s)
    return np.percentile(ms, 50), np.percentile(ms, 95)


def _concurrent(make_call, clients, per_client):
    latencies, lock = [], threading.Lock()

    def worker(call):
        for _ in range(per_client):
            start = time.perf_counter()
            call()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)

    calls = [make_call() for _ in range(clients)]
    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def main():
    args = _parse_args()
    if args.serving_dir:
        serving_dir = args.serving_dir
        versions = export.list_versions(os.path.join(serving_dir, args.model_name))
        version_dir = os.path.join(serving_dir, args.model_name, str(versions[-1]))
        describe = f"{args.model_name} version {versions[-1]} from {serving_dir}"
    else:
        generator = networks.unet_generator(image_size=IMAGE_SIZE, base_filters=args.base_filters)
        output_dir = tempfile.mkdtemp(prefix="serving_rest_")
        result = export.export_saved_model(
            output_dir, args.model_name, export.pix2pix_signatures(generator, IMAGE_SIZE),
            generator, warmup_requests=export.pix2pix_warmup_requests(IMAGE_SIZE))
        serving_dir, version_dir = export.export_root(output_dir), result.path
        params = sum(int(np.prod(v.shape)) for v in generator.weights)
        describe = (f"pix2pix U-Net {IMAGE_SIZE}x{IMAGE_SIZE}, base_filters {args.base_filters}, "
                    f"{params / 1e6:.1f} M parameters (random weights)")

    png = _request_png()
    body = json.dumps({"instances": [{"b64": base64.b64encode(png).decode()}]}).encode()
    loaded = tf.saved_model.load(version_dir)
    signature = loaded.signatures["serving_default"]
    image_bytes = tf.constant([png])

    def bare():
        return signature(image_bytes=image_bytes)["output_png_bytes"].numpy()[0]

    process, url = _start_server(serving_dir, args.model_name)
    try:
        path = f"/v1/models/{args.model_name}:predict"
        http_call = _HttpClient(url, path, body)
        assert http_call() == bare(), "the server's answer differs from the SavedModel's"
        for _ in range(args.warmup):
            bare()
            http_call()
        one = {"bare": [], "http": []}
        for _ in range(args.runs):
            for name, fn in (("bare", bare), ("http", http_call)):
                start = time.perf_counter()
                fn()
                one[name].append(time.perf_counter() - start)
        many = {"bare": ([], 0.0), "http": ([], 0.0)}
        for _ in range(args.rounds):
            for name, make in (("bare", lambda: bare),
                               ("http", lambda: _HttpClient(url, path, body))):
                lat, wall = _concurrent(make, args.clients, args.requests_per_client)
                many[name] = (many[name][0] + lat, many[name][1] + wall)
    finally:
        process.terminate()
        process.wait(timeout=60)

    print(f"model: {describe}")
    print(f"request: one {IMAGE_SIZE}x{IMAGE_SIZE} PNG of {len(png)} bytes, row format, "
          f"body {len(body)} bytes; server: python -m pipelines.serve (separate process)")
    print(f"machine: {os.cpu_count()} CPUs visible, TensorFlow {tf.__version__}")
    print(f"{'path':<34}{'clients':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>10}{'p95 ms':>10}")
    rows = {}
    for name, label in (("bare", "bare SavedModel call (in-process)"), ("http", "HTTP :predict")):
        lat = one[name]
        p50, p95 = _percentiles(lat)
        rows[(name, 1)] = p50
        print(f"{label:<34}{1:>8}{len(lat):>10}{len(lat) / sum(lat):>9.2f}{p50:>10.1f}{p95:>10.1f}")
    for name, label in (("bare", "bare SavedModel call (in-process)"), ("http", "HTTP :predict")):
        lat, wall = many[name]
        p50, p95 = _percentiles(lat)
        rows[(name, args.clients)] = p50
        print(f"{label:<34}{args.clients:>8}{len(lat):>10}{len(lat) / wall:>9.2f}{p50:>10.1f}"
              f"{p95:>10.1f}")
    print(f"HTTP / bare p50: 1 client {rows[('http', 1)] / rows[('bare', 1)]:.3f}x (target <= 1.3x), "
          f"{args.clients} clients {rows[('http', args.clients)] / rows[('bare', args.clients)]:.3f}x")


if __name__ == "__main__":
    main()
