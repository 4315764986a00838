"""tf.data sources: toy Gaussian mixtures, MNIST from IDX files, any TFDS image dataset.

Every image source yields float32 images in [-1, 1] (the tanh range), batched with
``drop_remainder`` so shapes are static under ``tf.distribute``.
"""

from tfgan_pipeline.data import images, mnist, tfds_source, toy  # noqa: F401
