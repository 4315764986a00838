"""Sample grids and 2-D scatter plots written as PNG files."""

import math
import os

import numpy as np
import tensorflow as tf


def image_grid(images, columns=None):
    """Tiles ``[N, H, W, C]`` images in [-1, 1] into one uint8 ``[rows*H, cols*W, C]`` array.

    Missing cells (when N is not a multiple of ``columns``) are left black.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid needs [N, H, W, C] images, got shape {images.shape}.")
    n, h, w, c = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    grid = np.zeros([rows * h, columns * w, c], np.uint8)
    pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = pixels[i]
    return grid


def write_png(array, path):
    """Writes a uint8 ``[H, W, C]`` array to ``path`` (atomic rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    tf.io.write_file(tmp, tf.io.encode_png(tf.convert_to_tensor(array, tf.uint8)))
    os.replace(tmp, path)
    return path


def scatter_plot(samples, path, modes=None, real=None, title=None):
    """Scatter plot of 2-D (or 1-D, as a histogram) samples with optional mode centres."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = np.asarray(samples, np.float32)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if samples.shape[-1] == 1:
        if real is not None:
            ax.hist(np.asarray(real)[:, 0], bins=100, density=True, alpha=0.5, label="real")
        ax.hist(samples[:, 0], bins=100, density=True, alpha=0.5, label="generated")
        ax.legend()
    else:
        if real is not None:
            real = np.asarray(real)
            ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:blue", alpha=0.6, label="real")
        ax.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:orange", alpha=0.4, label="generated")
        if modes is not None:
            modes = np.asarray(modes)
            ax.scatter(modes[:, 0], modes[:, 1], marker="+", c="k", s=30, label="modes")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path
