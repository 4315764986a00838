"""Contract tests: every endpoint of TF Serving's REST API as the dev server answers it."""

import base64

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.export.signatures import NOT_AN_IMAGE_MESSAGE

from ._helpers import IMAGE_SIZE, LATENT_DIM, b64, decode_png, png_bytes

P2P = "/v1/models/pix2pix_tiny"


def _expected(served, name, signature, **inputs):
    """The bare SavedModel call on the exported version (what :predict must return)."""
    result = served[2][name][1]
    loaded = tf.saved_model.load(result.path)
    out = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in out.items()}


def assert_still_serving(client):
    status, body = client.post(f"{P2P}:predict", {"instances": [{"b64": b64(png_bytes(9))}]})
    assert status == 200, body
    assert decode_png(base64.b64decode(body["predictions"][0]["b64"])).shape == (
        IMAGE_SIZE, IMAGE_SIZE, 3)


# ---------------------------------------------------------------- status
def test_status_is_tf_serving_model_version_status(client):
    status, body = client.get(P2P)
    assert status == 200
    assert body == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.get(f"{P2P}/versions/1") == (200, body)


@pytest.mark.parametrize("path, message", [
    (f"{P2P}/versions/7", "Could not find version 7 of model pix2pix_tiny"),
    ("/v1/models/nope", "Could not find any versions of model nope"),
    ("/v1/models/nope/metadata", "Servable not found for request: Latest(nope)"),
    (f"{P2P}/versions/2/metadata", "Servable not found for request: Specific(pix2pix_tiny, 2)"),
])
def test_unknown_model_or_version_is_404(client, path, message):
    status, body = client.get(path)
    assert status == 404
    assert body == {"error": message}
    assert_still_serving(client)


def test_every_model_of_models_config_is_served(client, served):
    for name in ('cgan_tiny', 'cyclegan_tiny', 'dcgan_tiny', 'infogan_tiny', 'pix2pix_tiny'):
        status, body = client.get(f"/v1/models/{name}")
        assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
    assert served[1].model_names() == ['cgan_tiny', 'cyclegan_tiny', 'dcgan_tiny', 'infogan_tiny', 'pix2pix_tiny']


# -------------------------------------------------------------- metadata
def test_metadata_lists_the_signature_defs(client):
    status, body = client.get(f"{P2P}/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "pix2pix_tiny", "signature_name": "", "version": "1"}
    defs = body["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "serving_float"} <= set(defs)
    default = defs["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    image_in = default["inputs"]["image_bytes"]
    assert image_in["dtype"] == "DT_STRING"
    assert image_in["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert default["outputs"]["output_png_bytes"]["dtype"] == "DT_STRING"
    floats = defs["serving_float"]["inputs"]["images"]["tensor_shape"]["dim"]
    assert [d["size"] for d in floats] == ["-1", str(IMAGE_SIZE), str(IMAGE_SIZE), "3"]
    assert client.get(f"{P2P}/versions/1/metadata") == (200, body)


# --------------------------------------------------------------- predict
def test_row_format_b64_in_b64_out_equals_the_savedmodel(client, served):
    images = [png_bytes(1), png_bytes(2, size=48)]
    status, body = client.post(f"{P2P}:predict",
                               {"instances": [{"b64": b64(x)} for x in images]})
    assert status == 200, body
    expected = _expected(served, "pix2pix_tiny", "serving_default", image_bytes=images)
    # one output tensor: each prediction is the plain value, a {"b64": ...} object
    assert body == {"predictions": [{"b64": b64(x)} for x in expected["output_png_bytes"]]}


def test_row_format_named_objects_and_version_path(client, served):
    image = png_bytes(3)
    status, body = client.post(f"{P2P}/versions/1:predict", {
        "signature_name": "serving_default", "instances": [{"image_bytes": {"b64": b64(image)}}]})
    assert status == 200, body
    expected = _expected(served, "pix2pix_tiny", "serving_default", image_bytes=[image])
    assert body["predictions"] == [{"b64": b64(expected["output_png_bytes"][0])}]


def test_columnar_format_plain_and_named(client, served):
    image = png_bytes(4)
    expected = _expected(served, "pix2pix_tiny", "serving_default", image_bytes=[image])
    want = {"outputs": [{"b64": b64(expected["output_png_bytes"][0])}]}
    assert client.post(f"{P2P}:predict", {"inputs": [{"b64": b64(image)}]}) == (200, want)
    assert client.post(f"{P2P}:predict", {"inputs": {"image_bytes": [{"b64": b64(image)}]}}) == (
        200, want)


def test_float_signature_row_format(client, served):
    x = np.random.default_rng(0).uniform(-1, 1, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    status, body = client.post(f"{P2P}:predict",
                               {"signature_name": "serving_float", "instances": x.tolist()})
    assert status == 200, body
    expected = _expected(served, "pix2pix_tiny", "serving_float", images=x)["output_images"]
    got = np.asarray(body["predictions"], np.float32)
    assert got.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3)
    np.testing.assert_array_equal(got, expected)


def test_gan_z_rows_and_sample_columnar(client, served):
    z = np.random.default_rng(1).normal(size=(3, LATENT_DIM)).astype(np.float32)
    status, body = client.post("/v1/models/dcgan_tiny:predict", {"instances": z.tolist()})
    assert status == 200, body
    expected = _expected(served, "dcgan_tiny", "serving_default", z=z)["images"]
    np.testing.assert_array_equal(np.asarray(body["predictions"], np.float32), expected)
    status, body = client.post("/v1/models/dcgan_tiny:predict", {
        "signature_name": "sample", "inputs": {"num_samples": 2, "seed": 5}})
    assert status == 200, body
    expected = _expected(served, "dcgan_tiny", "sample", num_samples=np.int32(2),
                         seed=np.int64(5))["images"]
    np.testing.assert_array_equal(np.asarray(body["outputs"], np.float32), expected)


def test_conditional_multi_input_rows_are_objects(client, served):
    z = np.random.default_rng(2).normal(size=(2, LATENT_DIM)).astype(np.float32)
    status, body = client.post("/v1/models/cgan_tiny:predict", {
        "instances": [{"z": z[0].tolist(), "label": 0}, {"z": z[1].tolist(), "label": 2}]})
    assert status == 200, body
    expected = _expected(served, "cgan_tiny", "serving_default", z=z,
                         label=np.array([0, 2], np.int32))["images"]
    np.testing.assert_array_equal(np.asarray(body["predictions"], np.float32), expected)
    status, body = client.post("/v1/models/cgan_tiny:predict", {"instances": z.tolist()})
    assert status == 400 and "instances is a plain list" in body["error"]
    status, body = client.post("/v1/models/cgan_tiny:predict", {
        "instances": [{"z": z[0].tolist(), "label": 7}]})
    assert status == 400 and "num_classes=3" in body["error"], body


# ---------------------------------------------------------------- errors
BAD_REQUESTS = [
    (b"{not json", "JSON Parse error"),
    (b"", "JSON Parse error: The document is empty"),
    (b"[1, 2]", "Is not object"),
    ({"instances": [{"b64": "AA=="}], "inputs": [{"b64": "AA=="}]},
     "expecting only one of 'inputs' or 'instances'"),
    ({"instance": []}, "Missing 'inputs' or 'instances' key"),
    ({"instances": []}, "No values in 'instances' array"),
    ({"instances": [{"images_bytes": {"b64": "AA=="}}]}, "does not have named input: images_bytes"),
    ({"inputs": {"imagebytes": [{"b64": "AA=="}]}}, "unknown input(s) imagebytes"),
    ({"instances": [{"b64": b64(b"GIF? no, plain text")}]}, NOT_AN_IMAGE_MESSAGE),
    ({"instances": [{"b64": b64(png_bytes(0)[:60])}]}, "PNG"),
    ({"instances": [{"b64": "%%%not base64"}]}, "Unable to base64 decode"),
    ({"instances": [5]}, "is not of expected type: string"),
    ({"signature_name": 3, "instances": [{"b64": "AA=="}]}, "'signature_name' key must be a string"),
    ({"signature_name": "nope", "instances": [{"b64": "AA=="}]},
     'Serving signature name: "nope" not found'),
    ({"signature_name": "serving_float", "instances": [[[0.0, 0.0, 0.0]]]}, "has shape [1, 1, 3]"),
    ({"signature_name": "serving_float", "instances": [[[[0.0, 0.0], [0.0]]]]},
     "unexpected size"),
    ({"signature_name": "serving_float", "instances": [[[["a", 0, 0]]]]},
     "is not of expected type: float"),
]


@pytest.mark.parametrize("body, message", BAD_REQUESTS)
def test_bad_predict_requests_are_400_and_the_server_goes_on(client, body, message):
    status, answer = client.post(f"{P2P}:predict", body)
    assert status == 400, answer
    assert set(answer) == {"error"} and message in answer["error"], answer
    assert "Traceback" not in answer["error"] and "[[{{node" not in answer["error"]
    assert_still_serving(client)


def test_integer_inputs_take_json_integers_only(client):
    status, body = client.post("/v1/models/dcgan_tiny:predict", {
        "signature_name": "sample", "inputs": {"num_samples": 1.5, "seed": 0}})
    assert status == 400 and "is not of expected type: int32" in body["error"]
    status, body = client.post("/v1/models/dcgan_tiny:predict", {
        "signature_name": "sample", "inputs": {"num_samples": True, "seed": 0}})
    assert status == 400 and "is not of expected type: int32" in body["error"]


@pytest.mark.parametrize("method, path, status_code, message", [
    ("GET", "/v1/models", 400, "Missing model name in request."),
    ("GET", "/v1/models/pix2pix_tiny/versions/x", 400, "Malformed request: GET"),
    ("POST", "/v1/models/pix2pix_tiny:explain", 400, "Malformed request: POST"),
    ("PUT", f"{P2P}:predict", 400, "Malformed request: PUT"),
    ("POST", f"{P2P}:classify", 400, "Expected classification signature method_name"),
    ("POST", "/v1/models/nope:predict", 404, "Servable not found for request: Latest(nope)"),
    ("POST", f"{P2P}/versions/3:predict", 404,
     "Servable not found for request: Specific(pix2pix_tiny, 3)"),
    ("GET", "/v1/models/pix2pix_tiny/versions/99999999999999999999", 400,
     "Failed to convert version"),
])
def test_paths_and_methods(client, method, path, status_code, message):
    status, body = client.request(method, path, b"{}" if method != "GET" else None)
    assert status == status_code, body
    assert message in body["error"]
    assert_still_serving(client)
