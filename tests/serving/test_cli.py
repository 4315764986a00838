"""``python -m pipelines.serve``: starts, prints its URL, serves, stops on SIGTERM."""

import os
import signal
import subprocess
import sys
import time

from ._helpers import Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_cli_serves_the_folder_and_stops_on_sigterm(served):
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.serve", f"--serving_dir={served[3]}", "--port=0",
         "--poll_seconds=0", "--nolog_requests"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while not line.startswith("Serving ") and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()[-3000:]
        assert line.startswith("Serving http://127.0.0.1:"), line
        url, models = line.split()[1].rstrip("/"), line.split()[-1]
        assert models == "cgan_tiny,cyclegan_tiny,dcgan_tiny,infogan_tiny,pix2pix_tiny"
        status, body = Client(url).get("/v1/models/dcgan_tiny")
        assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_rejects_a_missing_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.serve", f"--serving_dir={tmp_path / 'nope'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "is not a folder" in result.stderr
