"""Apache Beam preprocessing of paired images (pix2pix: Isola et al., CVPR 2017, App. 6.2).

``elements`` holds the plain per-element functions (decode, validate, split A|B,
resize, reject with a reason); ``beam_pipeline`` holds the named
``@beam.ptransform_fn`` composites and :func:`run_preprocess`, the entry point::

    from tfgan_pipeline.preprocess import PreprocessConfig, run_preprocess
    result = run_preprocess(PreprocessConfig(data_dir="../shared/data/maps/train",
                                             output_dir="/tmp/maps_tfrecords"))
    result.file_pattern("train")  # -> tfgan_pipeline.data.paired.paired_train_dataset
"""

from tfgan_pipeline.preprocess.beam_pipeline import PreprocessConfig
from tfgan_pipeline.preprocess.beam_pipeline import PreprocessResult
from tfgan_pipeline.preprocess.beam_pipeline import format_summary
from tfgan_pipeline.preprocess.beam_pipeline import load_preprocess_result
from tfgan_pipeline.preprocess.beam_pipeline import run_preprocess

__all__ = ["PreprocessConfig", "PreprocessResult", "format_summary",
           "load_preprocess_result", "run_preprocess"]
