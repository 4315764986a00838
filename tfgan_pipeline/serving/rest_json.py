"""TF Serving's REST ``:predict`` JSON <-> tensors, as ``json_tensor.cc`` does it.

TensorFlow Serving REST API (tensorflow.org/tfx/serving/api_rest, "Predict API"):

* Row format ``{"signature_name": s, "instances": [...]}`` -> ``{"predictions": [...]}``.
  With one named input each instance is the input's value itself (``[[1.0, 2.0],
  ...]``, ``[{"b64": ...}, ...]``); with several, each instance is an object holding
  every named input. The instances are stacked into one batch per input, so they
  must all have the same shape. In the answer each element is the plain value when
  the signature has one output, else an object ``{output name: value}``; every
  output must have the same batch size.
* Columnar format ``{"inputs": value or {name: value}}`` -> ``{"outputs": value or
  {name: value}}``: tensors exactly as given, no batching.
* Binary strings travel as ``{"b64": "<base64>"}`` objects in any string input;
  string outputs whose name ends in ``_bytes`` are written as ``{"b64": ...}``,
  other string outputs as JSON strings.
* Numbers: an int dtype takes JSON integers only, float dtypes take any number that
  fits without loss (integers beyond 2^24 do not fit float32), bool takes
  true/false; ``NaN``/``Infinity`` literals are accepted and written.

Differences from the C++ server, all on the strict or cosmetic side: float32
outputs are written with the shortest repr of their float64 value (TF Serving
prints the shortest float32 repr, e.g. 0.2 instead of 0.20000000298023224: the
same float32 after parsing); unknown keys in a columnar ``inputs`` object are
rejected (TF Serving ignores them); input shapes are checked against the
signature here, before the model runs.
"""

import base64
import binascii
import json

import numpy as np
import tensorflow as tf

from tfgan_pipeline.serving.errors import ServingError, invalid_argument

ROW, COLUMNAR = "row", "columnar"
DEFAULT_SIGNATURE = "serving_default"
_B64 = "b64"
_BYTES_SUFFIX = "_bytes"
_FLOAT32_MAX_INT = (1 << 24) - 1
_FLOAT64_MAX_INT = (1 << 53) - 1


def _short(value, limit=200):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def is_b64_object(value):
    """``{"b64": "<string>"}`` and nothing else in the object (json_tensor.cc's rule)."""
    return (isinstance(value, dict) and len(value) == 1
            and isinstance(value.get(_B64), str))


def _is_named_object(value):
    return isinstance(value, dict) and not is_b64_object(value)


def parse_json_object(body):
    """Parses a request body that must be one JSON object; errors as TF Serving words them."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        doc = json.loads(text)
    except UnicodeDecodeError as e:
        raise invalid_argument(f"JSON Parse error: Invalid encoding in string at offset: "
                               f"{e.start}") from e
    except json.JSONDecodeError as e:
        raise invalid_argument(f"JSON Parse error: {e.msg} at offset: {e.pos}") from e
    except RecursionError as e:
        raise invalid_argument("JSON Parse error: the document is nested too deeply") from e
    if not isinstance(doc, dict):
        raise invalid_argument(f"JSON Value: {_short(doc)} Is not object")
    return doc


# ----------------------------------------------------------- JSON -> ndarray
def _dense_shape(value):
    """Shape read along first elements (GetDenseTensorShape): [] for a scalar."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _type_error(value, dtype):
    kind = ("Null" if value is None else "True" if value is True else "False" if value is False
            else "Object" if isinstance(value, dict) else "Array" if isinstance(value, list)
            else "String" if isinstance(value, str) else "Number")
    return invalid_argument(f"JSON Value: {_short(value)} Type: {kind} is not of expected type: "
                            f"{dtype.name}")


def _walk(value, level, shape, leaf, out):
    """Checks nesting like FillTensorProto and appends leaf(value) of every element."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(f"JSON Value: {_short(value)} found at incorrect level: "
                                   f"{level + 1} in the JSON DOM. Expected at level: {rank}")
        out.append(leaf(value))
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid_argument(f"Encountered list at unexpected size: {len(value)} at level: "
                               f"{level} expected size: {shape[level]}")
    for item in value:
        _walk(item, level + 1, shape, leaf, out)


def _string_leaf(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        if not is_b64_object(value):
            raise invalid_argument(f"JSON Value: {_short(value)} not formatted correctly for "
                                   "base64 data")
        try:
            return base64.b64decode(value[_B64], validate=True)
        except (binascii.Error, ValueError) as e:
            raise invalid_argument("Unable to base64 decode") from e
    raise _type_error(value, tf.string)


def _numeric_leaf(dtype):
    np_dtype = dtype.as_numpy_dtype

    def leaf(value):
        if dtype == tf.bool:
            if not isinstance(value, bool):
                raise _type_error(value, dtype)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(value, dtype)
        if dtype.is_integer:
            if not isinstance(value, int):
                raise _type_error(value, dtype)
            info = np.iinfo(np_dtype)
            if not info.min <= value <= info.max:
                raise _type_error(value, dtype)
            return value
        _check_lossless(np.asarray([value]), dtype, value)
        return value
    return leaf


def _check_lossless(array, dtype, shown):
    """Floats: integers must be exact in the target type, finite values within range."""
    if dtype not in (tf.float16, tf.bfloat16, tf.float32, tf.float64):
        return
    max_int = _FLOAT64_MAX_INT if dtype == tf.float64 else _FLOAT32_MAX_INT
    max_value = float(np.finfo(dtype.as_numpy_dtype).max) if dtype != tf.bfloat16 else 3.39e38
    if array.dtype.kind in "iu":
        bad = np.abs(array.astype(np.float64)) > max_int
    else:
        finite = np.isfinite(array)
        bad = finite & (np.abs(array) > max_value)
    if np.any(bad):
        value = shown if shown is not None else array[bad].flat[0].item()
        raise invalid_argument(f"Cannot convert JSON value: {_short(value)} to "
                               f"{'double' if dtype == tf.float64 else 'float'} without loss "
                               "of precision.")


def json_to_array(value, dtype):
    """One JSON value (scalar or nested lists) -> ``np.ndarray`` of ``dtype``.

    Args:
      value: the decoded JSON value.
      dtype: the signature input's ``tf.DType``.

    Raises:
      ServingError (INVALID_ARGUMENT) naming the offending value.
    """
    shape = _dense_shape(value)
    if dtype == tf.string:
        flat = []
        _walk(value, 0, shape, _string_leaf, flat)
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    if not (dtype.is_integer or dtype.is_floating or dtype == tf.bool):
        raise invalid_argument(f"Conversion of JSON Value: {_short(value)} to type: "
                               f"{dtype.name} is not supported")
    # Fast path: numpy reads a well-formed nested list in C; anything irregular
    # (ragged lists, objects, strings, bools among numbers) is re-walked in Python
    # for TF Serving's error message.
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        array = None
    ok = (array is not None and list(array.shape) == shape and (
        (dtype == tf.bool and array.dtype == np.bool_)
        or (dtype.is_integer and array.dtype.kind in "iu")
        or (dtype.is_floating and array.dtype.kind in "iuf")))
    if ok and dtype != tf.bool and not _contains_bool(value, len(shape)):
        if dtype.is_integer:
            info = np.iinfo(dtype.as_numpy_dtype)
            if array.size and (array.min() < info.min or array.max() > info.max):
                bad = array[(array < info.min) | (array > info.max)].flat[0].item()
                raise _type_error(bad, dtype)
        else:
            _check_lossless(array, dtype, None)
        return array.astype(dtype.as_numpy_dtype)
    if ok and dtype == tf.bool:
        return array
    flat = []
    _walk(value, 0, shape, _numeric_leaf(dtype), flat)
    return np.asarray(flat, dtype=dtype.as_numpy_dtype).reshape(shape)


def _contains_bool(value, rank):
    """True if any leaf is a JSON true/false (numpy would read it as 0/1)."""
    if rank == 0:
        return isinstance(value, bool)
    if rank == 1:
        return any(isinstance(v, bool) for v in value)
    return any(_contains_bool(v, rank - 1) for v in value)


# ------------------------------------------------------------- the request
def _check_shape(name, array, spec_shape, signature_name):
    if spec_shape is None:
        return
    got = list(array.shape)
    if len(got) != len(spec_shape) or any(e >= 0 and e != g for e, g in zip(spec_shape, got)):
        raise invalid_argument(
            f"input {name!r} has shape {got}; signature {signature_name!r} expects "
            f"{spec_shape} (-1: any size)")


def parse_predict_request(body, input_specs_for):
    """Parses a ``:predict`` body into numpy inputs.

    Args:
      body: the raw request body (bytes).
      input_specs_for: ``signature name -> {input name: (tf.DType, shape list or None)}``
        (raises ServingError for an unknown signature).

    Returns:
      ``(signature_name, {input name: np.ndarray}, ROW or COLUMNAR)``.
    """
    doc = parse_json_object(body)
    signature_name = doc.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid_argument(f"JSON Value: {_short(doc)} not formatted correctly. "
                               "'signature_name' key must be a string value.")
    signature_name = signature_name or DEFAULT_SIGNATURE
    specs = input_specs_for(signature_name)
    if not specs:
        raise invalid_argument(f"Failed to get input map for signature: {signature_name}")
    has_instances, has_inputs = "instances" in doc, "inputs" in doc
    if has_instances and has_inputs:
        raise invalid_argument("JSON Value: request not formatted correctly expecting only one "
                               "of 'inputs' or 'instances' keys to exist")
    if has_instances:
        arrays = _from_instances(doc["instances"], specs)
        fmt = ROW
    elif has_inputs:
        arrays = _from_inputs(doc["inputs"], specs)
        fmt = COLUMNAR
    else:
        raise invalid_argument("Missing 'inputs' or 'instances' key")
    for name, array in arrays.items():
        _check_shape(name, array, specs[name][1], signature_name)
    return signature_name, arrays, fmt


def _from_instances(instances, specs):
    if not isinstance(instances, list):
        raise invalid_argument("JSON Value: request not formatted correctly. Excepting "
                               "'instances' to be an list/array")
    if not instances:
        raise invalid_argument("JSON Value: request not formatted correctly. No values in "
                               "'instances' array")
    names = sorted(specs)
    objects = _is_named_object(instances[0])
    if not objects and len(names) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input "
            f"tensors required as per tensorinfo_map (inputs: {', '.join(names)})")
    columns = {name: [] for name in names}
    for i, item in enumerate(instances):
        if objects:
            if not _is_named_object(item):
                raise invalid_argument(f"Expecting object but got list at item {i} of input list")
            for key in item:
                if key not in specs:
                    raise invalid_argument(
                        f"Failed to process element: {i} key: {key} of 'instances' list. "
                        f"Error: JSON object: does not have named input: {key} "
                        f"(the signature takes: {', '.join(names)})")
            if set(item) != set(names):
                raise invalid_argument(
                    f"Failed to process element: {i} of 'instances' list. JSON object: "
                    f"{_short(item)} keys must be equal to: {','.join(names)}")
            for name in names:
                columns[name].append(item[name])
        else:
            if _is_named_object(item):
                raise invalid_argument(f"Expecting value/list but got object at item {i} of "
                                       "input list")
            columns[names[0]].append(item)
    arrays = {}
    for name, values in columns.items():
        first_shape = _dense_shape(values[0])
        for i, value in enumerate(values):
            if _dense_shape(value) != first_shape:
                raise invalid_argument(
                    f"Failed to process element: {i} of 'instances' list. Error: Expecting "
                    f"shape {first_shape} but got: {_dense_shape(value)} (input {name!r}: "
                    "every instance must have the same shape)")
        try:
            arrays[name] = json_to_array(values, specs[name][0])
        except ServingError as e:  # re-raised with the input's name
            raise invalid_argument(f"input {name!r}: {e.message}") from e
    return arrays


def _from_inputs(inputs, specs):
    names = sorted(specs)
    if not _is_named_object(inputs):
        if len(names) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input "
                f"tensors required as per tensorinfo_map (inputs: {', '.join(names)})")
        return {names[0]: json_to_array(inputs, specs[names[0]][0])}
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise invalid_argument(f"'inputs' object has unknown input(s) {', '.join(unknown)}; the "
                               f"signature takes: {', '.join(names)}")
    arrays = {}
    for name in names:
        if name not in inputs:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        arrays[name] = json_to_array(inputs[name], specs[name][0])
    return arrays


# ------------------------------------------------------------ the response
def _to_json_value(array, as_b64):
    if array.dtype == object or array.dtype.kind == "S":
        def leaf(item):
            if isinstance(item, str):
                item = item.encode("utf-8")
            elif not isinstance(item, bytes):
                item = bytes(item)
            if as_b64:
                return {_B64: base64.b64encode(item).decode("ascii")}
            return item.decode("utf-8", errors="replace")

        def rec(value):
            return [rec(v) for v in value] if isinstance(value, list) else leaf(value)
        return rec(array.tolist())
    if array.dtype == np.float16 or array.dtype.name == "bfloat16":
        array = array.astype(np.float32)
    return array.tolist()


def format_predict_response(outputs, fmt):
    """``{output name: np.ndarray}`` -> the JSON body of TF Serving's answer (bytes)."""
    if not outputs:
        raise invalid_argument("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)
    arrays = {name: np.asarray(outputs[name]) for name in names}
    if fmt == ROW:
        batch = None
        for name in names:
            array = arrays[name]
            if array.ndim == 0:
                raise invalid_argument(f"Tensor name: {name} has no shape information ")
            if batch is not None and array.shape[0] != batch:
                raise invalid_argument(f"Tensor name: {name} has inconsistent batch size: "
                                       f"{array.shape[0]} expecting: {batch}")
            batch = array.shape[0]
        values = {name: _to_json_value(arrays[name], name.endswith(_BYTES_SUFFIX))
                  for name in names}
        if len(names) == 1:
            predictions = values[names[0]]
        else:
            predictions = [{name: values[name][i] for name in names} for i in range(batch)]
        doc = {"predictions": predictions}
    elif fmt == COLUMNAR:
        values = {name: _to_json_value(arrays[name], name.endswith(_BYTES_SUFFIX))
                  for name in names}
        doc = {"outputs": values[names[0]] if len(names) == 1 else values}
    else:
        raise invalid_argument("Invalid request format")
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def error_body(message):
    """``{"error": message}`` as bytes."""
    return json.dumps({"error": message}).encode("utf-8")
