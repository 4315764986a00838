"""Apache Beam preprocessing into TFRecords: paired images and single images.

Paired images (pix2pix: Isola et al., CVPR 2017, App. 6.2): ``elements`` holds the
plain per-element functions (decode, validate, split A|B, resize, reject with a
reason); ``beam_pipeline`` holds the named ``@beam.ptransform_fn`` composites and
:func:`run_preprocess`, the entry point::

    from tfgan_pipeline.preprocess import PreprocessConfig, run_preprocess
    result = run_preprocess(PreprocessConfig(data_dir="../shared/data/maps/train",
                                             output_dir="/tmp/maps_tfrecords"))
    result.file_pattern("train")  # -> tfgan_pipeline.data.paired.paired_train_dataset

Single images (MNIST IDX, TFDS, CycleGAN domains: Zhu et al., ICCV 2017):
``image_elements`` and ``image_pipeline`` likewise, entry point
:func:`run_image_preprocess`::

    from tfgan_pipeline.preprocess import ImagePreprocessConfig, run_image_preprocess
    result = run_image_preprocess(ImagePreprocessConfig(
        source="tfds:cycle_gan/horse2zebra", output_dir="/tmp/horse2zebra"))
    result.file_pattern("train", "A")  # -> tfgan_pipeline.data.single.unpaired_dataset

``beam_common`` holds what both share: runner flags, the TFRecord/rejects/stats
writers and the atomic build-or-reuse of an output folder.
"""

import importlib

# Loaded on first use (PEP 562), so that a Beam worker importing one element module
# does not import the other pipeline (and TensorFlow, which the single-image one needs).
_EXPORTS = {
    "PreprocessConfig": "beam_pipeline", "PreprocessResult": "beam_pipeline",
    "format_summary": "beam_pipeline", "load_preprocess_result": "beam_pipeline",
    "run_preprocess": "beam_pipeline", "ImagePreprocessConfig": "image_pipeline",
    "ImagePreprocessResult": "image_pipeline", "format_image_summary": "image_pipeline",
    "load_image_preprocess_result": "image_pipeline", "run_image_preprocess": "image_pipeline",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = ["ImagePreprocessConfig", "ImagePreprocessResult", "PreprocessConfig",
           "PreprocessResult", "format_image_summary", "format_summary",
           "load_image_preprocess_result", "load_preprocess_result", "run_image_preprocess",
           "run_preprocess"]
