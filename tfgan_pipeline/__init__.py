"""tfgan_pipeline: Keras 3 GANs from the classic literature, run as a production pipeline.

Rooms (see BUILD.md, "Architecture"): ``losses`` (pure per-example losses),
``networks`` (builders returning ``keras.Model``), ``models`` (one GAN variant per
file, trained with ``model.fit``), ``data`` (tf.data sources and the TFRecord
schema), ``preprocess`` (Apache Beam), ``evaluation``, ``export`` (TF Serving),
``config`` and ``distribute``.
"""

__version__ = "0.1.0"
