"""Fixtures of the experiments' tests: tiny synthetic MNIST and maps folders, one smoke run.

Nothing here reads ../shared/data: the smoke run uses a synthetic IDX folder (240
"digits": a bright bar whose position encodes the label, plus noise) and 30
synthetic A|B pairs, so the tests run on a fresh clone.
"""

import gzip
import struct

import numpy as np
import pytest

from tfgan_pipeline.data.synthetic_pairs import write_synthetic_pairs


def write_idx(path, magic, dims, payload):
    data = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload
    with gzip.open(path, "wb") as f:
        f.write(data)


@pytest.fixture(scope="session")
def synthetic_mnist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    n = 240
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, y in enumerate(labels):
        images[i, 3 + 2 * y:5 + 2 * y, 4:24] = 255
    write_idx(folder / "t10k-images-idx3-ubyte.gz", 2051, (n, 28, 28), images.tobytes())
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", 2049, (n,), labels.tobytes())
    return str(folder)


@pytest.fixture(scope="session")
def synthetic_maps(tmp_path_factory):
    return write_synthetic_pairs(str(tmp_path_factory.mktemp("maps")), num_pairs=30, size=128)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, synthetic_mnist, synthetic_maps):
    """Every experiment once with the smoke budget and one seed: ``(output_dir, results)``."""
    from tfgan_pipeline.experiments import ExperimentsConfig, run_experiments

    out = str(tmp_path_factory.mktemp("experiments"))
    config = ExperimentsConfig(experiment="all", output_dir=out, seeds=1, budget="smoke",
                               mnist_dir=synthetic_mnist, maps_dir=synthetic_maps)
    lines = []
    results = run_experiments(config, log=lines.append)
    return out, results, lines
