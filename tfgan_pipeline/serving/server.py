"""A development server that speaks TensorFlow Serving's REST API, plus the try-it page.

Endpoints (TF Serving REST API, tensorflow.org/tfx/serving/api_rest; paths matched
with ``http_rest_api_util.cc``'s regular expressions, case-insensitively):

* ``GET  /v1/models/{name}[/versions/{v}]``           -> ``{"model_version_status": [...]}``
* ``GET  /v1/models/{name}[/versions/{v}]/metadata``  -> ``{"model_spec", "metadata":
  {"signature_def": {"signature_def": {...}}}}`` (protobuf JSON, field names kept)
* ``POST /v1/models/{name}[/versions/{v}]:predict``   -> ``predictions`` / ``outputs``
  (see :mod:`tfgan_pipeline.serving.rest_json`)
* ``GET /`` and ``GET /static/<file>``: the page in ``serving/static/`` (package files only).

Errors are ``{"error": "..."}`` with TF Serving's HTTP codes (see
:mod:`tfgan_pipeline.serving.errors`). Any other path under ``/v1/`` is
"Malformed request" (400, as TF Serving answers); paths outside ``/v1/`` other than
the page are 404.

Built on the standard library's ``ThreadingHTTPServer`` (one thread per
connection, HTTP/1.1 keep-alive): TensorFlow releases the GIL while a signature
runs, so concurrent requests overlap, and nothing is added to the dependency
list. Safety by default: binds 127.0.0.1; request bodies over ``max_body_bytes``
get 413 without being read; images larger than ``max_image_pixels`` /
``max_image_side`` get 400 before any decoding; at most ``max_connections`` open
connections (more get 503); idle connections close after ``timeout_seconds``;
when bound to a loopback address, requests whose ``Host`` header names another
host get 403 (DNS-rebinding guard). Requests never name files: model names and
versions are looked up among the loaded models, and the page's files come from a
list made at start-up of the regular files in the package's ``static/`` folder.
"""

import dataclasses
import html
import http.server
import ipaddress
import json
import logging
import os
import re
import threading
import time
import urllib.parse

import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from tfgan_pipeline.serving import image_limits, rest_json
from tfgan_pipeline.serving.errors import ServingError, clean_tf_message, code_name, \
    invalid_argument, not_found
from tfgan_pipeline.serving.version_manager import valid_model_name

log = logging.getLogger("tfgan_pipeline.serving")

PREDICT_RE = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)",
                        re.IGNORECASE)
STATUS_RE = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/(\d+))?(?:/(metadata))?",
                       re.IGNORECASE)
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                  ".css": "text/css; charset=utf-8", ".png": "image/png",
                  ".svg": "image/svg+xml", ".ico": "image/x-icon"}
_MODELS_META = '<meta name="tfgan-models" content="">'
_INT64_MAX = (1 << 63) - 1
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_DRAIN_LIMIT = 8 * 1024 * 1024  # bytes of an oversized body read and dropped after a 413


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """Bounds on what one request may cost (stated in docs/SERVING.md).

    Attributes:
      max_body_bytes: largest request body; larger ones get 413 unread.
      max_image_pixels: largest ``width * height`` of an image in a string input.
      max_image_side: largest width or height of such an image.
      max_connections: open connections served at once; more get 503.
      timeout_seconds: an idle or stalled connection is closed after this long.
    """

    max_body_bytes: int = 32 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    max_image_side: int = 8192
    max_connections: int = 64
    timeout_seconds: float = 60.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{field.name} must be a positive number, got {value!r}.")


def static_files(folder=STATIC_DIR):
    """``{file name: path}`` of the regular, non-symlink files directly in ``folder``."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        ext = os.path.splitext(name)[1].lower()
        if (ext in _CONTENT_TYPES and not name.startswith(".") and os.path.isfile(path)
                and not os.path.islink(path)):
            files[name] = path
    return files


def _message_json(message):
    return json_format.MessageToJson(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True, indent=2)


def status_json(entries):
    """``GetModelStatusResponse`` JSON from the manager's status entries."""
    response = get_model_status_pb2.GetModelStatusResponse()
    for entry in entries:
        status = response.model_version_status.add()
        status.version = entry["version"]
        status.state = get_model_status_pb2.ModelVersionStatus.State.Value(entry["state"])
        status.status.SetInParent()
        status.status.error_code = _error_code_value(entry["error_code"])
        status.status.error_message = entry["error_message"]
    return _message_json(response)


def _error_code_value(name):
    field = get_model_status_pb2.ModelVersionStatus.DESCRIPTOR.fields_by_name["status"]
    enum = field.message_type.fields_by_name["error_code"].enum_type
    return enum.values_by_name[name].number


def metadata_json(record):
    """TF Serving's ``/metadata`` answer: model_spec plus the SignatureDefMap, as its
    ``ToJsonString`` concatenates them."""
    spec = get_model_metadata_pb2.GetModelMetadataResponse().model_spec
    spec.name = record.model_name
    spec.version.value = record.version
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in record.signature_defs_all.items():
        signature_map.signature_def[name].CopyFrom(signature)
    return ('{\n"model_spec":' + _message_json(spec) + ',\n"metadata": {"signature_def": '
            + _message_json(signature_map) + '}\n}\n')


class DevServer(http.server.ThreadingHTTPServer):
    """The HTTP server: owns the manager, the limits and the static file list."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, manager, host="127.0.0.1", port=8501, limits=None, log_requests=True):
        self.manager = manager
        self.limits = limits or ServerLimits()
        self.log_requests = log_requests
        self.static = static_files()
        if "index.html" not in self.static:
            raise RuntimeError(f"the page is missing from the package: {STATIC_DIR}/index.html")
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self.loopback = _is_loopback(host)
        super().__init__((host, port), Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            try:
                body = rest_json.error_body(
                    f"too many open connections (limit {self.limits.max_connections}, "
                    "--max_connections); retry later")
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
                                b"application/json\r\nConnection: close\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n" + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def start_background(self):
        """Serves in a daemon thread (tests, benchmarks); returns the thread."""
        thread = threading.Thread(target=self.serve_forever, name="dev-server", daemon=True)
        thread.start()
        return thread


def _is_loopback(host):
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes one request; every failure becomes ``{"error": ...}`` and the server goes on."""

    protocol_version = "HTTP/1.1"
    server_version = "tfgan-dev-serving/1"

    def setup(self):
        self.timeout = self.server.limits.timeout_seconds
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's name)
        if self.server.log_requests:
            log.info("%s %s", self.address_string(), format % args)

    # ----------------------------------------------------------- responses
    def _send(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in headers:
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error_json(self, error):
        self._send(error.http_status, rest_json.error_body(error.message))

    # ------------------------------------------------------------- methods
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def _dispatch(self, method):
        path = urllib.parse.urlsplit(self.path).path
        try:
            self._check_host()
            if method != "POST":
                self._discard_body()
            if path.lower().startswith("/v1/"):
                self._api(method, path, self._read_body() if method == "POST" else b"")
            elif method in ("GET", "HEAD"):
                self._page(path)
            else:
                raise ServingError("NOT_FOUND", f"no {method} handler for {path}")
        except ServingError as e:
            self._send_error_json(e)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # the server keeps serving after anything
            log.exception("unexpected error on %s %s", method, path)
            self._send_error_json(ServingError("INTERNAL", f"{type(e).__name__}: {e}"))

    def _check_host(self):
        if not self.server.loopback:
            return
        host = self.headers.get("Host")
        if host is None:
            return
        name = urllib.parse.urlsplit("//" + host).hostname or ""
        if name.lower() not in _LOOPBACK_NAMES:
            self.close_connection = True
            raise ServingError("PERMISSION_DENIED",
                               f"Host {host!r} is not this loopback server's name; the server is "
                               "bound to a loopback address and answers only localhost, "
                               "127.0.0.1 or [::1] (start it with --host to serve other names)")

    def _discard_body(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= self.server.limits.max_body_bytes:
            self.rfile.read(int(length))
        elif length:
            self.close_connection = True

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise ServingError("INVALID_ARGUMENT", "chunked request bodies are not supported; "
                               "send a Content-Length header", http_status=411)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            self.close_connection = True
            raise invalid_argument(f"Content-Length {length!r} is not a number")
        length = int(length)
        limit = self.server.limits.max_body_bytes
        if length > limit:
            self.close_connection = True  # the body is not parsed; see finish()
            self._unread = length
            raise self._too_large(length)
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise ConnectionError("client closed the connection mid-body")
        return body

    def _too_large(self, length):
        limit = self.server.limits.max_body_bytes
        return ServingError("RESOURCE_EXHAUSTED", f"request body of {length} bytes is over this "
                            f"server's limit of {limit} bytes (--max_body_bytes)", http_status=413)

    def handle_expect_100(self):
        # "Expect: 100-continue" (curl sends it for bodies over 1 kB): refuse an oversized
        # body before the client sends it.
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.server.limits.max_body_bytes:
            self.close_connection = True
            self._send_error_json(self._too_large(int(length)))
            return False
        return super().handle_expect_100()

    def finish(self):
        # After a 413 the client may still be sending: drain a bounded amount (so it can
        # read the answer instead of seeing a reset), never the whole of a huge body.
        unread = getattr(self, "_unread", 0)
        if unread:
            self._unread = 0
            try:
                self.connection.settimeout(1.0)
                remaining = min(unread, _DRAIN_LIMIT)
                while remaining > 0:
                    chunk = self.rfile.read1(min(remaining, 65536))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            except OSError:
                pass
        super().finish()

    # ----------------------------------------------------------------- API
    def _api(self, method, path, body):
        match = PREDICT_RE.fullmatch(path) if method == "POST" else (
            STATUS_RE.fullmatch(path) if method == "GET" else None)
        if match is None:
            raise invalid_argument(f"Malformed request: {method} {path}")
        name = urllib.parse.unquote(match.group(1) or "")
        version = match.group(2)
        if version is not None:
            if int(version) > _INT64_MAX:
                raise invalid_argument(f"Failed to convert version: {version} to numeric.")
            version = int(version)
        if method == "POST":
            self._predict(name, version, match.group(3).lower(), body)
            return
        if not name:
            raise invalid_argument("Missing model name in request.")
        self._check_name(name, version)
        if match.group(3):
            record = self.server.manager.acquire(name, version)
            try:
                text = metadata_json(record)
            finally:
                self.server.manager.release(record)
        else:
            text = status_json(self.server.manager.status(name, version))
        self._send(200, text.encode("utf-8"))

    @staticmethod
    def _check_name(name, version):
        if not valid_model_name(name):
            spec = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise not_found(f"Servable not found for request: {spec}: {name!r} is not a valid "
                            "model name (letters, digits, '_', '-', '.'; not starting with '.' "
                            "or '-')")

    def _predict(self, name, version, method, body):
        self._check_name(name, version)
        manager = self.server.manager
        record = manager.acquire(name, version)
        try:
            if method != "predict":
                signature = record.signature_defs_all.get("serving_default")
                kind = {"classify": "classification", "regress": "regression"}[method]
                found = signature.method_name if signature is not None else "(none)"
                raise invalid_argument(
                    f"Expected {kind} signature method_name to be tensorflow/serving/{method}. "
                    f"Was: {found} (use :predict)")
            signature_name, inputs, fmt = rest_json.parse_predict_request(
                body, record.input_specs_for)
            limits = self.server.limits
            image_limits.check_image_inputs(inputs, limits.max_image_pixels,
                                            limits.max_image_side)
            function = record.functions[signature_name]
            specs = record.input_specs[signature_name]
            tensors = {k: tf.constant(v, dtype=specs[k][0]) for k, v in inputs.items()}
            try:
                result = function(**tensors)
            except tf.errors.OpError as e:
                raise ServingError(code_name(e), clean_tf_message(e)) from e
            except (TypeError, ValueError) as e:
                raise invalid_argument(f"signature {signature_name!r} rejected the inputs: {e}")
            outputs = {k: v.numpy() for k, v in result.items()}
        finally:
            manager.release(record)
        self._send(200, rest_json.format_predict_response(outputs, fmt))

    # ---------------------------------------------------------------- page
    def _page(self, path):
        files = self.server.static
        if path in ("/", "/index.html"):
            name = "index.html"
        elif path.startswith("/static/") and path[len("/static/"):] in files:
            name = path[len("/static/"):]
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        with open(files[name], "rb") as f:
            content = f.read()
        if name == "index.html":
            names = ",".join(self.server.manager.model_names())
            content = content.replace(
                _MODELS_META.encode(),
                f'<meta name="tfgan-models" content="{html.escape(names)}">'.encode())
        self._send(200, content, _CONTENT_TYPES[os.path.splitext(name)[1].lower()],
                   headers=[("Cache-Control", "no-cache")])


def wait_until_serving(manager, name, version=None, timeout=60.0, interval=0.05):
    """Blocks until ``name`` serves ``version`` (any version when None); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        current = manager.serving_version(name)
        if current is not None and (version is None or current == version):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not serve version {version} within {timeout} s "
                               f"(now: {current}); status: {json.dumps(_safe_status(manager, name))}")
        time.sleep(interval)


def _safe_status(manager, name):
    try:
        return manager.status(name)
    except ServingError as e:
        return e.message
