"""TF Serving warmup file: format, contents, checks, and blocking a failing export."""

import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from tfgan_pipeline import export
from tfgan_pipeline.export import warmup as warmup_lib

from ._helpers import IMAGE_SIZE, LATENT_DIM


def test_warmup_file_is_tfrecord_of_prediction_logs(pix2pix_export):
    _, result, _ = pix2pix_export
    path = os.path.join(result.path, "assets.extra", "tf_serving_warmup_requests")
    records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    assert len(records) == 3
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in records]
    assert all(log.WhichOneof("log_type") == "predict_log" for log in logs)
    specs = [(log.predict_log.request.model_spec.name,
              log.predict_log.request.model_spec.signature_name) for log in logs]
    assert specs == [("pix2pix_tiny", "serving_default")] * 2 + [("pix2pix_tiny", "serving_float")]


def test_warmup_requests_hold_real_images_and_run_through_the_model(pix2pix_export):
    _, result, loaded = pix2pix_export
    requests = export.read_warmup_requests(result.path)
    png, jpeg = (export.request_inputs(r)["image_bytes"] for r in requests[:2])
    assert png.shape == (1,) and png[0].startswith(b"\x89PNG")
    assert jpeg.shape == (1,) and jpeg[0].startswith(b"\xff\xd8\xff")
    assert tf.io.decode_png(png[0]).shape == (48, 48, 3)  # source_size=48: exercises resize
    floats = export.request_inputs(requests[2])["images"]
    assert floats.shape == (1, IMAGE_SIZE, IMAGE_SIZE, 3) and floats.dtype == np.float32
    outputs = export.run_warmup_requests(result.path, loaded=loaded)
    decoded = tf.io.decode_png(outputs[0]["output_png_bytes"][0])
    assert decoded.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    assert outputs[2]["output_images"].shape == (1, IMAGE_SIZE, IMAGE_SIZE, 3)


def test_no_warmup_file_without_requests(tmp_path, gan_generator):
    result = export.export_saved_model(
        tmp_path, "gan", export.gan_generator_signatures(gan_generator), gan_generator)
    assert not os.path.exists(warmup_lib.warmup_path(result.path))
    assert export.read_warmup_requests(result.path) == []


@pytest.mark.parametrize("request_, message", [
    (export.WarmupRequest("serving_default", {"latent": np.zeros([1, LATENT_DIM])}),
     r"has inputs \['latent'\]; the signature takes \['z'\]"),
    (export.WarmupRequest("serving_default", {"z": np.zeros([1, LATENT_DIM + 1])}),
     r"has shape \[1, 9\]; the signature expects \[None, 8\]"),
    (export.WarmupRequest("predict", {"z": np.zeros([1, LATENT_DIM])}),
     r"calls signature 'predict', which is not exported"),
    ({"z": np.zeros([1, LATENT_DIM])}, "must be a WarmupRequest"),
])
def test_malformed_warmup_requests_are_rejected(tmp_path, gan_generator, request_, message):
    with pytest.raises((ValueError, TypeError), match=message):
        export.export_saved_model(tmp_path, "gan", export.gan_generator_signatures(gan_generator),
                                  gan_generator, warmup_requests=[request_])
    assert export.list_versions(os.path.join(tmp_path, "export", "gan")) == []


def test_too_many_warmup_requests_are_rejected(tmp_path, gan_generator):
    requests = export.gan_warmup_requests(LATENT_DIM)[:1] * 1001
    with pytest.raises(ValueError, match="TF Serving reads at most 1000"):
        export.export_saved_model(tmp_path, "gan", export.gan_generator_signatures(gan_generator),
                                  gan_generator, warmup_requests=requests)


def test_a_failing_warmup_request_blocks_publication(tmp_path, gan_generator):
    # Well-formed but failing at run time, as TF Serving would see it at load time.
    bad = export.WarmupRequest("sample", {"num_samples": np.int32(0), "seed": np.int64(0)})
    with pytest.raises(RuntimeError, match="would refuse to load this version"):
        export.export_saved_model(tmp_path, "gan", export.gan_generator_signatures(gan_generator),
                                  gan_generator, warmup_requests=[bad])
    base = os.path.join(tmp_path, "export", "gan")
    assert os.listdir(base) == []  # neither a version nor a temp folder
    assert not os.path.exists(os.path.join(tmp_path, "export", "models.config"))


def test_gan_warmup_requests_round_trip(tmp_path, gan_generator):
    result = export.export_saved_model(
        tmp_path, "gan", export.gan_generator_signatures(gan_generator), gan_generator,
        warmup_requests=export.gan_warmup_requests(LATENT_DIM))
    requests = export.read_warmup_requests(result.path)
    assert [r.model_spec.signature_name for r in requests] == ["serving_default", "sample"]
    sample_inputs = export.request_inputs(requests[1])
    assert sample_inputs["num_samples"].dtype == np.int32 and sample_inputs["num_samples"] == 1
    assert sample_inputs["seed"].dtype == np.int64
    outputs = export.run_warmup_requests(result.path)
    assert [o["images"].shape for o in outputs] == [(1, IMAGE_SIZE, IMAGE_SIZE, 3)] * 2
