"""Shared tiny inputs for the Beam tests: 16x8 A|B pairs (A red, B blue) plus planted bad files."""

import dataclasses
import io
import json
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tfgan_pipeline.data import schema

RED, BLUE = (255, 0, 0), (0, 0, 255)


def save_image(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def solid(color, height=8, width=8):
    return np.tile(np.array(color, np.uint8), (height, width, 1))


def ab_image():
    return np.concatenate([solid(RED), solid(BLUE)], axis=1)


@dataclasses.dataclass(frozen=True)
class FlatData:
    """A flat folder of A|B images; ``good``/``bad``/``val_at_0_3`` are the expectations."""
    root: object
    data_dir: str
    good: tuple = tuple(f"{i}.png" for i in range(10))
    # sha1 prefixes: u(2.png) = 0.154, u(8.png) = 0.028; every other good name has u > 0.3.
    val_at_0_3: frozenset = frozenset({"2.png", "8.png"})
    bad: tuple = (("empty.jpg", "empty_file"), ("gray.png", "not_rgb"), ("odd.png", "odd_width"),
                  ("rgba.png", "not_rgb"), ("text.jpg", "not_an_image"),
                  ("truncated.png", "corrupt_image"))

    @staticmethod
    def records(paths):
        """``[(file_name, input uint8, target uint8)]`` read back through the schema."""
        out = []
        for raw in tf.data.TFRecordDataset(list(paths), compression_type="GZIP"):
            parsed = schema.parse_example(raw)
            out.append((parsed["file_name"].numpy().decode(), parsed["input_image"].numpy(),
                        parsed["target_image"].numpy()))
        return out

    @staticmethod
    def rejects(path):
        """``{base name: reason}`` from a rejects.jsonl file."""
        with open(path) as f:
            return {os.path.basename(r["path"]): r["reason"] for r in map(json.loads, f)}


@pytest.fixture(scope="module")
def flat_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("flat")
    data = root / "data"
    data.mkdir()
    for name in FlatData.good:
        save_image(data / name, ab_image())
    (data / "empty.jpg").write_bytes(b"")
    (data / "text.jpg").write_text("not an image")
    buffer = io.BytesIO()
    Image.fromarray(ab_image()).save(buffer, format="PNG")
    (data / "truncated.png").write_bytes(buffer.getvalue()[:40])
    save_image(data / "gray.png", np.zeros((8, 16)))
    save_image(data / "rgba.png", np.zeros((8, 16, 4)))
    save_image(data / "odd.png", np.zeros((8, 15, 3)))
    (data / "notes").mkdir()  # an unknown sub-folder: not read, but reported
    return FlatData(root=root, data_dir=str(data))
