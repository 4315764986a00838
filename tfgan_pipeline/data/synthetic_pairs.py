"""A synthetic paired dataset in the published pix2pix file layout, made on the spot.

The pix2pix job's default data, so it runs end to end on a fresh machine with no
download. Each file holds one pair side by side, A (input) on the left and B
(target) on the right, like the facades/maps datasets of Isola et al. 2017:

* A, "aerial": a textured, noisy background with random rectangles and discs whose
  colours depend on their class (with per-shape brightness jitter and pixel noise);
* B, "map": the same layout drawn in flat palette colours per class, on a flat
  background: a learnable, deterministic function of A's content.

Files are PNG (lossless) and named ``synthetic_<index>.png``; generation is
deterministic given the seed.
"""

import os

import numpy as np
import tensorflow as tf

# class -> (aerial base colour, map colour); index 0 is the background.
_AERIAL = np.array([[70, 90, 60], [150, 150, 150], [40, 60, 140], [120, 80, 40]], np.float32)
_MAP = np.array([[235, 230, 220], [255, 255, 255], [160, 200, 250], [250, 210, 160]], np.uint8)


def _pair(rng, size):
    yy, xx = np.mgrid[0:size, 0:size]
    labels = np.zeros([size, size], np.int64)
    for _ in range(rng.integers(3, 8)):
        cls = rng.integers(1, len(_MAP))
        cy, cx = rng.integers(0, size, 2)
        r = rng.integers(size // 12, size // 4)
        if rng.random() < 0.5:
            mask = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r // 2 + 1)
        else:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        labels[mask] = cls
    brightness = rng.uniform(0.8, 1.2, len(_AERIAL))
    aerial = _AERIAL[labels] * brightness[labels][..., None]
    texture = 12 * np.sin(xx / rng.uniform(2, 6))[..., None] * (labels == 0)[..., None]
    aerial = aerial + texture + rng.normal(0, 8, aerial.shape)
    aerial = np.clip(aerial, 0, 255).astype(np.uint8)
    return np.concatenate([aerial, _MAP[labels]], axis=1)


def write_synthetic_pairs(folder, num_pairs=64, size=128, seed=0):
    """Writes ``num_pairs`` A|B PNG files of ``size x 2*size`` into ``folder``.

    Existing files with the same names are kept (generation is deterministic, so a
    rerun produces identical files); returns the folder.
    """
    if num_pairs < 1 or size < 16:
        raise ValueError(f"need num_pairs >= 1 and size >= 16, got {num_pairs} and {size}.")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(num_pairs):
        pair = _pair(rng, size)
        path = os.path.join(folder, f"synthetic_{i:05d}.png")
        if not os.path.exists(path):
            tmp = path + ".tmp"
            tf.io.write_file(tmp, tf.io.encode_png(pair))
            os.replace(tmp, path)
    return folder
