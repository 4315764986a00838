"""Errors of the development server, carrying TF Serving's status codes.

TensorFlow Serving answers every failed REST call with ``{"error": "<message>"}`` and
an HTTP status derived from the canonical ``tensorflow.error.Code`` of the failure
(``ToHTTPStatusCode`` in ``tensorflow_serving/model_servers/http_server.cc``):
INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE are 400, NOT_FOUND 404,
UNKNOWN/INTERNAL/DATA_LOSS 500, UNIMPLEMENTED 501, UNAVAILABLE 503, and so on. The
same table is used here, so a client's error handling carries over unchanged.
Limits TF Serving does not have (request body size) add 413.
"""

import tensorflow as tf

#: ``tensorflow.error.Code`` name -> HTTP status, as TF Serving maps them.
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}

_CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


class ServingError(Exception):
    """A failed request: canonical code name, message, and the HTTP status to send.

    Attributes:
      code: a ``tensorflow.error.Code`` name such as ``"INVALID_ARGUMENT"``.
      message: the text returned as ``{"error": message}``.
      http_status: the HTTP status (from :data:`HTTP_STATUS` unless given).
    """

    def __init__(self, code, message, http_status=None):
        super().__init__(message)
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown error code {code!r}; use one of {sorted(HTTP_STATUS)}.")
        self.code = code
        self.message = message
        self.http_status = HTTP_STATUS[code] if http_status is None else int(http_status)


def invalid_argument(message):
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message):
    return ServingError("NOT_FOUND", message)


def code_name(error):
    """The canonical code name of an exception (``UNKNOWN`` unless it is a tf.errors one)."""
    if isinstance(error, ServingError):
        return error.code
    if isinstance(error, tf.errors.OpError):
        return _CODE_NAMES.get(int(error.error_code), "UNKNOWN")
    if isinstance(error, FileNotFoundError):
        return "NOT_FOUND"
    if isinstance(error, PermissionError):
        return "PERMISSION_DENIED"
    return "UNKNOWN"


def clean_tf_message(error):
    """The useful part of a TensorFlow runtime error: the failed assertion or the cause.

    Errors raised inside a ``tf.function`` carry the Python stack of the op that
    failed ("Detected at node ... defined at ...") and node annotations
    (``[[{{node ...}}]]``, ``[Op:__inference_...]``); clients need neither.
    """
    text = getattr(error, "message", None) or str(error)
    if "assertion failed:" in text:
        text = text[text.index("assertion failed:"):]
    else:
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        kept = [p for p in paragraphs
                if not p.startswith(("Graph execution error", "Detected at node"))
                and not p.lstrip().startswith("File ")]
        text = kept[-1] if kept else text
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[[") or stripped.startswith("File \"") or not stripped:
            continue
        lines.append(stripped)
    text = " ".join(lines)
    for marker in (" [Op:", " [[{{node"):
        if marker in text:
            text = text[:text.index(marker)]
    return text.strip()
