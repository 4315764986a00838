"""tf.data sources: toy Gaussian mixtures, MNIST from IDX files, any TFDS image dataset.

Every image source yields float32 images in [-1, 1] (the tanh range), batched with
``drop_remainder`` so shapes are static under ``tf.distribute``.
"""

from tfgan_pipeline.data.mnist import load_mnist_idx, mnist_dataset, read_idx
from tfgan_pipeline.data.tfds_source import (is_tfds_spec, parse_tfds_spec, tfds_dataset,
                                             tfds_dataset_from_spec)
from tfgan_pipeline.data.toy import TOY_DATASETS, GaussianMixture, get_toy, toy_dataset
