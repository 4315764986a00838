"""Version policy: hot swap under load, broken and half-written versions, start-up fallback."""

import os
import shutil
import threading
import time

import pytest
import tensorflow as tf

from tfgan_pipeline import serving
from tfgan_pipeline.export import warmup as warmup_lib

from ._helpers import Client, b64, export_translator, png_bytes

NAME = "pix2pix_tiny"


def _answer(version_path, image):
    loaded = tf.saved_model.load(str(version_path))
    out = loaded.signatures["serving_default"](image_bytes=tf.constant([image]))
    return b64(out["output_png_bytes"].numpy()[0])


def _push(source_version_dir, base_path, version, mutate=None):
    """What a Pusher does: copy the version beside the others, then rename it into place."""
    tmp = os.path.join(base_path, f".tmp-push-{version}")
    shutil.copytree(source_version_dir, tmp)
    if mutate is not None:
        mutate(tmp)
    os.rename(tmp, os.path.join(base_path, str(version)))


def _start(serving_dir, **kwargs):
    manager = serving.VersionManager(serving_dir, poll_seconds=0.1, **kwargs).start()
    server = serving.DevServer(manager, port=0, log_requests=False)
    server.start_background()
    return manager, server


def _stop(manager, server):
    server.shutdown()
    server.server_close()
    manager.stop()


def _wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _status(client, version=None):
    path = f"/v1/models/{NAME}" + (f"/versions/{version}" if version else "")
    return client.get(path)


def test_hot_swap_under_concurrent_load(tmp_path):
    run, staging = tmp_path / "run", tmp_path / "staging"
    _, first = export_translator(run, NAME, seed=0)
    _, second = export_translator(staging, NAME, seed=5, write_model_config=False)
    image = png_bytes(7)
    old, new = _answer(first.path, image), _answer(second.path, image)
    assert old != new
    manager, server = _start(run / "export")
    records, lock, stop = [], threading.Lock(), threading.Event()
    body = {"instances": [{"b64": b64(image)}]}

    def worker():
        client = Client(server.url)
        while not stop.is_set() and len(records) < 3000:
            start = time.monotonic()
            try:
                status, answer = client.post(f"/v1/models/{NAME}:predict", body)
                got = answer["predictions"][0]["b64"] if status == 200 else f"HTTP {status}"
            except Exception as e:  # a dropped connection counts as a failure
                got = f"{type(e).__name__}: {e}"
            end = time.monotonic()
            with lock:
                records.append((start, end, "v1" if got == old else "v2" if got == new else got))
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        _wait_for(lambda: len(records) >= 20, what="20 answers from version 1")
        _push(second.path, first.base_path, 2)
        _wait_for(lambda: manager.serving_version(NAME) == 2, what="version 2 served")
        switched = time.monotonic()
        _wait_for(lambda: sum(r[0] > switched for r in records) >= 20, what="20 answers after")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        status_after = Client(server.url).get(f"/v1/models/{NAME}")
        _stop(manager, server)

    failed = [r for r in records if r[2] not in ("v1", "v2")]
    n_old = sum(r[2] == "v1" for r in records)
    n_new = sum(r[2] == "v2" for r in records)
    print(f"\nhot swap: {len(records)} requests from 4 clients, {n_old} answered by version 1, "
          f"{n_new} by version 2, {len(failed)} failed")
    assert not failed, failed[:5]
    assert n_old > 0 and n_new > 0
    first_new = min(r[1] for r in records if r[2] == "v2")
    late_old = [r for r in records if r[0] > first_new and r[2] == "v1"]
    assert not late_old, f"{len(late_old)} requests started after a version-2 answer got version 1"
    assert status_after == (200, {"model_version_status": [
        {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}},
        {"version": "1", "state": "END", "status": {"error_code": "OK", "error_message": ""}}]})


def _corrupt_graph(folder):
    with open(os.path.join(folder, "saved_model.pb"), "wb") as f:
        f.write(b"this is not a SavedModel")


def _failing_warmup(folder):
    logs = warmup_lib.to_prediction_logs(
        [warmup_lib.WarmupRequest("serving_default", {"image_bytes": [b"not an image"]})],
        warmup_lib.read_signature_defs(folder), NAME)
    with tf.io.TFRecordWriter(warmup_lib.warmup_path(folder)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


def test_broken_half_written_and_failing_warmup_versions_are_never_served(tmp_path):
    run = tmp_path / "run"
    _, first = export_translator(run, NAME, seed=0)
    image = png_bytes(8)
    v1_answer = _answer(first.path, image)
    base = first.base_path
    manager, server = _start(run / "export")
    client = Client(server.url)
    body = {"instances": [{"b64": b64(image)}]}

    def version_status(v):
        status, answer = _status(client, v)
        return answer["model_version_status"][0] if status == 200 else None

    try:
        # 2: a corrupt graph -> END with the load error; 1 keeps answering
        _push(first.path, base, 2, mutate=_corrupt_graph)
        s2 = _wait_for(lambda: (version_status(2) or {}).get("state") == "END" and version_status(2),
                       what="version 2 reported")
        assert s2["status"]["error_code"] != "OK" and s2["status"]["error_message"]
        assert client.post(f"/v1/models/{NAME}:predict", body)[1]["predictions"][0]["b64"] == v1_answer
        assert client.post(f"/v1/models/{NAME}/versions/2:predict", body)[0] == 404

        # 3: half-written (no saved_model.pb yet) -> reported, not served; completed -> served
        os.makedirs(os.path.join(base, "3"))
        shutil.copytree(os.path.join(first.path, "variables"), os.path.join(base, "3", "variables"))
        s3 = _wait_for(lambda: (version_status(3) or {}).get("state") == "END" and version_status(3),
                       what="version 3 reported")
        assert s3["status"]["error_code"] == "NOT_FOUND"
        assert "half-written" in s3["status"]["error_message"]
        assert manager.serving_version(NAME) == 1
        for name in ("saved_model.pb", "assets.extra", "fingerprint.pb"):
            src = os.path.join(first.path, name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(base, "3", name))
            elif os.path.exists(src):
                shutil.copy2(src, os.path.join(base, "3", name))
        _wait_for(lambda: manager.serving_version(NAME) == 3, what="completed version 3 served")

        # 4: loads but its warmup fails -> END, 3 keeps answering
        _push(first.path, base, 4, mutate=_failing_warmup)
        s4 = _wait_for(lambda: (version_status(4) or {}).get("state") == "END" and version_status(4),
                       what="version 4 reported")
        assert s4["status"]["error_code"] == "INVALID_ARGUMENT"
        assert "warmup" in s4["status"]["error_message"]
        assert manager.serving_version(NAME) == 3
        status, answer = client.post(f"/v1/models/{NAME}:predict", body)
        assert status == 200 and answer["predictions"][0]["b64"] == v1_answer
        states = {s["version"]: s["state"] for s in _status(client)[1]["model_version_status"]}
        assert states == {"4": "END", "3": "AVAILABLE", "2": "END", "1": "END"}
    finally:
        client.close()
        _stop(manager, server)

    # start-up: the newest loadable version is served, the broken ones reported
    _push(first.path, base, 5, mutate=_corrupt_graph)
    manager = serving.VersionManager(run / "export", poll_seconds=0).start()
    try:
        assert manager.serving_version(NAME) == 3
        assert [(s["version"], s["state"]) for s in manager.status(NAME)] == [
            (5, "END"), (4, "END"), (3, "AVAILABLE")]
    finally:
        manager.stop()


def test_model_name_flag_restricts_and_models_config_lists(tmp_path):
    run = tmp_path / "run"
    export_translator(run, "first_model", seed=0)
    export_translator(run, "second_model", seed=1)
    only = serving.VersionManager(run / "export", model_names=["second_model"], poll_seconds=0)
    assert only.start().model_names() == ["second_model"]
    both = serving.VersionManager(run / "export", poll_seconds=0).start()
    assert both.model_names() == ["first_model", "second_model"]
    with pytest.raises(ValueError, match="not valid"):
        serving.VersionManager(run / "export", model_names=["../etc"])
    with pytest.raises(ValueError, match="is not a folder"):
        serving.VersionManager(tmp_path / "missing")


def test_a_version_still_being_copied_is_not_loaded_until_it_settles(tmp_path):
    run = tmp_path / "run"
    _, first = export_translator(run, NAME, seed=0)
    manager = serving.VersionManager(run / "export", poll_seconds=0.3).start()
    try:
        target = os.path.join(first.base_path, "2")
        shutil.copytree(first.path, target)
        data = [os.path.join(target, "variables", n) for n in os.listdir(
            os.path.join(target, "variables")) if n.startswith("variables.data")][0]
        content = open(data, "rb").read()
        seen = set()
        for i in range(40):  # a slow copy: the data file grows faster than the polls
            with open(data, "wb") as f:
                f.write(content[:len(content) * (i + 1) // 40])
            time.sleep(0.03)
            seen.update((s["version"], s["state"]) for s in manager.status(NAME))
        assert (2, "START") in seen and (2, "END") not in seen and (2, "LOADING") not in seen
        assert manager.serving_version(NAME) == 1
        _wait_for(lambda: manager.serving_version(NAME) == 2, what="version 2 once settled")
    finally:
        manager.stop()
