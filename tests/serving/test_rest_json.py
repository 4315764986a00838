"""TF Serving's JSON tensor rules (json_tensor.cc) without a server."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.serving import rest_json
from tfgan_pipeline.serving.errors import ServingError, clean_tf_message

SPECS = {"serving_default": {"x": (tf.float32, [-1, 2])},
         "two": {"a": (tf.int32, [-1]), "s_bytes": (tf.string, [-1])}}


def _parse(doc):
    def specs_for(name):
        if name not in SPECS:
            raise ServingError("INVALID_ARGUMENT", f"no signature {name}")
        return SPECS[name]
    return rest_json.parse_predict_request(json.dumps(doc).encode(), specs_for)


def test_row_and_columnar_give_the_same_batch():
    sig, row, fmt = _parse({"instances": [[1, 2.5], [3, 4]]})
    assert (sig, fmt) == ("serving_default", rest_json.ROW)
    np.testing.assert_array_equal(row["x"], np.array([[1, 2.5], [3, 4]], np.float32))
    _, col, fmt = _parse({"inputs": {"x": [[1, 2.5], [3, 4]]}})
    assert fmt == rest_json.COLUMNAR
    np.testing.assert_array_equal(col["x"], row["x"])


def test_multi_input_rows_and_b64_strings():
    _, arrays, _ = _parse({"signature_name": "two", "instances": [
        {"a": 1, "s_bytes": {"b64": "AAE="}}, {"a": 2, "s_bytes": "text"}]})
    assert arrays["a"].dtype == np.int32 and arrays["a"].tolist() == [1, 2]
    assert arrays["s_bytes"].tolist() == [b"\x00\x01", b"text"]


@pytest.mark.parametrize("doc, message", [
    ({"instances": [[2 ** 25, 0]]}, "without loss of precision"),
    ({"instances": [[1e39, 0]]}, "without loss of precision"),
    ({"instances": [[True, 0]]}, "is not of expected type: float"),
    ({"instances": [[1, 2], [3]]}, "Expecting shape [2] but got: [1]"),
    ({"inputs": [[1, 2], [3]]}, "unexpected size"),
    ({"instances": [[1, 2, 3]]}, "has shape [1, 3]"),
    ({"signature_name": "two", "instances": [{"a": 1.0, "s_bytes": "x"}]},
     "is not of expected type: int32"),
    ({"signature_name": "two", "instances": [{"a": 2 ** 40, "s_bytes": "x"}]},
     "is not of expected type: int32"),
    ({"signature_name": "two", "instances": [{"a": 1}]}, "keys must be equal to: a,s_bytes"),
    ({"signature_name": "two", "inputs": {"a": [1]}}, "Missing named input: s_bytes"),
    ({"signature_name": "two", "inputs": [1]}, "inputs is a plain value/list"),
    ({"signature_name": "two", "instances": [{"a": 1, "s_bytes": {"b64": 5}}]},
     "not formatted correctly for base64"),
    ({"signature_name": "missing", "instances": [1]}, "no signature missing"),
])
def test_bad_values_name_the_problem(doc, message):
    with pytest.raises(ServingError) as info:
        _parse(doc)
    assert info.value.http_status == 400 and message in info.value.message


def test_nan_and_infinity_literals_go_both_ways():
    _, arrays, _ = rest_json.parse_predict_request(
        b'{"instances": [[NaN, Infinity]]}', lambda name: SPECS[name])
    assert math.isnan(arrays["x"][0, 0]) and math.isinf(arrays["x"][0, 1])
    text = rest_json.format_predict_response({"y": arrays["x"]}, rest_json.ROW).decode()
    assert text == '{"predictions":[[NaN,Infinity]]}'


def test_response_shapes_follow_the_output_count():
    one = {"images": np.zeros([2, 1], np.float32)}
    assert json.loads(rest_json.format_predict_response(one, rest_json.ROW)) == {
        "predictions": [[0.0], [0.0]]}
    assert json.loads(rest_json.format_predict_response(one, rest_json.COLUMNAR)) == {
        "outputs": [[0.0], [0.0]]}
    two = {"b_bytes": np.array([b"\xff", b"z"], object), "label": np.array(["a", "b"], object),
           "n": np.array([1, 2], np.int64)}
    assert json.loads(rest_json.format_predict_response(two, rest_json.ROW)) == {"predictions": [
        {"b_bytes": {"b64": "/w=="}, "label": "a", "n": 1},
        {"b_bytes": {"b64": "eg=="}, "label": "b", "n": 2}]}
    assert json.loads(rest_json.format_predict_response(two, rest_json.COLUMNAR)) == {"outputs": {
        "b_bytes": [{"b64": "/w=="}, {"b64": "eg=="}], "label": ["a", "b"], "n": [1, 2]}}
    with pytest.raises(ServingError, match="inconsistent batch size"):
        rest_json.format_predict_response({"a": np.zeros([2]), "b": np.zeros([3])}, rest_json.ROW)
    with pytest.raises(ServingError, match="has no shape information"):
        rest_json.format_predict_response({"a": np.float32(1)}, rest_json.ROW)


def test_tf_runtime_errors_are_cleaned():
    @tf.function
    def f(x):
        tf.debugging.Assert(x > 0, ["x must be positive"])
        return x
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        f(tf.constant(-1))
    text = clean_tf_message(info.value)
    assert text.startswith("assertion failed:") and "x must be positive" in text
    assert "[[" not in text and "File " not in text and "\n" not in text
