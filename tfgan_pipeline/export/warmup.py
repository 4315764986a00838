"""TF Serving warmup requests: ``assets.extra/tf_serving_warmup_requests``.

TensorFlow Serving initialises parts of the runtime lazily, so the first request
after a model loads is slow. At load time the server replays the requests in
``<version>/assets.extra/tf_serving_warmup_requests``: a TFRecord file whose
records are serialized ``tensorflow.serving.PredictionLog`` protos, at most 1000
of them ("SavedModel Warmup", TF Serving guide). A warmup request that fails makes
the server reject that version, so the exporter checks each request against the
saved ``SignatureDef`` and runs it once before publishing.

A request is described framework-neutrally as a :class:`WarmupRequest` (signature
name + ``{input name: array-like}``); this module turns it into ``PredictRequest``
protos, writes, reads back and replays them.
"""

import dataclasses
import os
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_log_pb2

#: File name and folder TF Serving looks for.
WARMUP_FILENAME = "tf_serving_warmup_requests"
WARMUP_SUBDIR = "assets.extra"
#: TF Serving reads at most this many warmup records.
MAX_WARMUP_RECORDS = 1000
DEFAULT_SIGNATURE = "serving_default"


@dataclasses.dataclass(frozen=True)
class WarmupRequest:
    """One Predict request to replay at load time.

    Attributes:
      signature_name: the signature it calls (e.g. ``"serving_default"``).
      inputs: ``{input name: value}``; values are anything ``np.asarray`` takes
        (a list of ``bytes`` for string inputs), with the batch dimension included.
    """

    signature_name: str
    inputs: Mapping[str, object]


def warmup_path(saved_model_dir):
    """Returns ``<saved_model_dir>/assets.extra/tf_serving_warmup_requests``."""
    return os.path.join(os.fspath(saved_model_dir), WARMUP_SUBDIR, WARMUP_FILENAME)


def read_signature_defs(saved_model_dir, tag="serve"):
    """Reads the ``SignatureDef`` map TF Serving sees, from ``saved_model.pb`` only.

    Returns:
      ``{signature name: SignatureDef proto}`` of the MetaGraph tagged ``tag``.
    """
    path = os.path.join(os.fspath(saved_model_dir), "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if tag in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{path} has no MetaGraph tagged {tag!r}.")


def check_requests(requests, signature_names):
    """Checks request types, count and signature names (before anything is saved).

    Args:
      requests: list of :class:`WarmupRequest`.
      signature_names: the names that will be exported (any iterable of str).
    """
    if len(requests) > MAX_WARMUP_RECORDS:
        raise ValueError(f"{len(requests)} warmup requests given; TF Serving reads at most "
                         f"{MAX_WARMUP_RECORDS}. Pass a few representative ones.")
    names = set(signature_names)
    for i, request in enumerate(requests):
        if not isinstance(request, WarmupRequest):
            raise TypeError(f"warmup_requests[{i}] must be a WarmupRequest, got "
                            f"{type(request).__name__}.")
        if request.signature_name not in names:
            raise ValueError(f"warmup_requests[{i}] calls signature {request.signature_name!r}, "
                             f"which is not exported (exported: {sorted(names)}).")


def _to_tensor_proto(value, tensor_info, where):
    dtype = tf.dtypes.as_dtype(tensor_info.dtype)
    array = np.asarray(value, dtype=object if dtype == tf.string else dtype.as_numpy_dtype)
    expected = [d.size for d in tensor_info.tensor_shape.dim]
    if not tensor_info.tensor_shape.unknown_rank:
        if array.ndim != len(expected) or any(
                e >= 0 and e != a for e, a in zip(expected, array.shape)):
            raise ValueError(f"{where} has shape {list(array.shape)}; the signature expects "
                             f"{[None if e < 0 else e for e in expected]}.")
    return tf.make_tensor_proto(array, dtype=dtype)


def to_prediction_logs(requests, signature_defs, model_name):
    """Converts :class:`WarmupRequest` s to ``PredictionLog`` protos, checking inputs.

    Args:
      requests: list of :class:`WarmupRequest`.
      signature_defs: ``{name: SignatureDef}`` (see :func:`read_signature_defs`).
      model_name: written into each request's ``model_spec.name``.
    """
    logs = []
    for i, request in enumerate(requests):
        if request.signature_name not in signature_defs:
            raise ValueError(f"warmup_requests[{i}] calls signature {request.signature_name!r}; "
                             f"the SavedModel has {sorted(signature_defs)}.")
        signature = signature_defs[request.signature_name]
        given, expected = set(request.inputs), set(signature.inputs)
        if given != expected:
            raise ValueError(f"warmup_requests[{i}] for {request.signature_name!r} has inputs "
                             f"{sorted(given)}; the signature takes {sorted(expected)}.")
        predict = predict_pb2.PredictRequest()
        predict.model_spec.name = model_name
        predict.model_spec.signature_name = request.signature_name
        for name, value in request.inputs.items():
            predict.inputs[name].CopyFrom(_to_tensor_proto(
                value, signature.inputs[name], f"warmup_requests[{i}].inputs[{name!r}]"))
        logs.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=predict)))
    return logs


def write_warmup_requests(saved_model_dir, requests, model_name):
    """Writes ``assets.extra/tf_serving_warmup_requests`` into a SavedModel directory.

    The inputs are checked against the SavedModel's own signatures first.

    Returns:
      The path of the written file.
    """
    logs = to_prediction_logs(requests, read_signature_defs(saved_model_dir), model_name)
    path = warmup_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(saved_model_dir):
    """Parses the warmup file back into ``PredictRequest`` protos (empty list if absent)."""
    path = warmup_path(saved_model_dir)
    if not os.path.exists(path):
        return []
    requests = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") != "predict_log":
            raise ValueError(f"{path} holds a {log.WhichOneof('log_type')} record; this "
                             "exporter writes predict_log records only.")
        requests.append(log.predict_log.request)
    return requests


def request_inputs(predict_request):
    """Returns ``{input name: np.ndarray}`` of a ``PredictRequest``."""
    return {name: tf.make_ndarray(proto) for name, proto in predict_request.inputs.items()}


def run_warmup_requests(saved_model_dir, loaded=None):
    """Replays the warmup file through ``tf.saved_model.load``-ed signatures.

    Args:
      saved_model_dir: a SavedModel directory with a warmup file.
      loaded: an already loaded SavedModel object (loaded from ``saved_model_dir``
        when ``None``).

    Returns:
      One ``{output name: np.ndarray}`` per request.
    """
    requests = read_warmup_requests(saved_model_dir)
    if loaded is None:
        loaded = tf.saved_model.load(os.fspath(saved_model_dir))
    outputs = []
    for i, request in enumerate(requests):
        name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        try:
            result = loaded.signatures[name](
                **{k: tf.constant(v) for k, v in request_inputs(request).items()})
        except (tf.errors.OpError, KeyError, TypeError, ValueError) as e:
            raise RuntimeError(
                f"warmup request {i} (signature {name!r}) failed on the exported model; TF "
                f"Serving would refuse to load this version. Error: {e}") from e
        outputs.append({k: v.numpy() for k, v in result.items()})
    return outputs
