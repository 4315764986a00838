"""Which SavedModel version answers: TF Serving's latest-version policy over a base path.

TensorFlow Serving's file-system source polls each model's base path
(``--file_system_poll_wait_seconds``), treats every all-digit child folder as a
version, and with the default ``latest`` policy serves the highest one. Its
availability-preserving manager loads the new version (and replays its
``assets.extra/tf_serving_warmup_requests``) before unloading the old one, so there
is no gap; a version that fails to load or to warm up is never served and is
reported in the model status (state ``END`` with the error). This module does the
same for the development server:

* ``<serving_dir>/<model>/<version>/`` only; the models come from ``--model_name``,
  else from the names in ``<serving_dir>/models.config`` (the export writes it),
  else from every child folder holding at least one integer version.
* A new version is loaded only after its files have stayed unchanged for one poll
  (a copy in progress is never loaded; the exporter's atomic rename makes this
  instant for its own exports), then warmed up, then switched to under a lock;
  the old version goes to ``UNLOADING`` and to ``END`` once its in-flight requests
  are done. Requests pin the version they started on.
* A broken or half-written version is reported (``END`` with an error code) and
  retried only when its files change. A version folder, a file in it or a model
  folder that resolves outside ``serving_dir`` (symlinks) is refused.
* At start-up, if the newest version fails, the newest one that loads is served
  (TF Serving would serve none); later polls only move forward.
"""

import dataclasses
import logging
import os
import re
import threading

import tensorflow as tf

from tfgan_pipeline.export import model_config as model_config_lib
from tfgan_pipeline.export import warmup as warmup_lib
from tfgan_pipeline.serving.errors import ServingError, clean_tf_message, code_name, not_found

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"

log = logging.getLogger("tfgan_pipeline.serving")


def valid_model_name(name):
    """The exporter's model-name rule: no path separators, no leading '.' or '-', not all digits."""
    return isinstance(name, str) and bool(MODEL_NAME_RE.match(name)) and not name.isdigit()


def _inside(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


@dataclasses.dataclass
class Version:
    """One version of one model, as the manager tracks it.

    ``signature_defs`` (SignatureDef protos of the callable signatures),
    ``signature_defs_all`` (every SignatureDef in ``saved_model.pb``, what
    ``/metadata`` lists, ``__saved_model_init_op`` included), ``input_specs``
    (``{signature: {input: (tf.DType, shape or None)}}``) and ``functions`` (the
    loaded concrete functions) are set once the version is loaded.
    """

    model_name: str
    version: int
    path: str
    state: str = START
    error_code: str = "OK"
    error_message: str = ""
    fingerprint: tuple = None
    loaded: object = None
    signature_defs: dict = None
    signature_defs_all: dict = None
    input_specs: dict = None
    functions: dict = None
    inflight: int = 0

    def input_specs_for(self, signature_name):
        """``{input name: (dtype, shape)}`` of a signature; INVALID_ARGUMENT if it is unknown."""
        if signature_name not in self.functions:
            raise ServingError("INVALID_ARGUMENT", f"Serving signature name: \"{signature_name}\" "
                               f"not found in signature def (this model has: "
                               f"{', '.join(sorted(self.functions))})")
        return self.input_specs[signature_name]


@dataclasses.dataclass
class _Model:
    name: str
    base_path: str
    versions: dict = dataclasses.field(default_factory=dict)  # int -> Version
    serving: Version = None
    seen: dict = dataclasses.field(default_factory=dict)      # int -> fingerprint at last poll
    problem: str = ""


def _input_specs(signature_def):
    specs = {}
    for name, info in signature_def.inputs.items():
        shape = (None if info.tensor_shape.unknown_rank
                 else [int(d.size) for d in info.tensor_shape.dim])
        specs[name] = (tf.dtypes.as_dtype(info.dtype), shape)
    return specs


def fingerprint(path, root):
    """``(relative path, size, mtime_ns)`` of every file under ``path``; refuses escapes.

    Raises:
      ServingError(PERMISSION_DENIED) if the folder or anything in it resolves
      outside ``root``.
    """
    if not _inside(path, root):
        raise ServingError("PERMISSION_DENIED", f"{path} resolves to {os.path.realpath(path)}, "
                           "outside --serving_dir; it is not loaded.")
    entries = []
    for folder, dirs, files in os.walk(path, followlinks=False):
        for name in list(dirs) + files:
            full = os.path.join(folder, name)
            if os.path.islink(full) and not _inside(full, root):
                raise ServingError(
                    "PERMISSION_DENIED", f"{full} is a symlink to {os.path.realpath(full)}, "
                    "outside --serving_dir; the version is not loaded.")
        for name in files:
            full = os.path.join(folder, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            entries.append((os.path.relpath(full, path), st.st_size, st.st_mtime_ns))
    return tuple(sorted(entries))


def _describe_load_error(error):
    """``(code name, message)`` for a failed load or warmup."""
    if isinstance(error, ServingError):
        return error.code, error.message
    cause = error.__cause__ if isinstance(error, RuntimeError) and error.__cause__ else error
    if isinstance(cause, tf.errors.OpError):
        detail = clean_tf_message(cause)
        if cause is not error:  # warmup_lib wraps the failing request's error
            return code_name(cause), f"{str(error).split(' Error: ')[0]} Error: {detail}"
        return code_name(cause), detail
    return code_name(error), f"{type(error).__name__}: {error}"


class VersionManager:
    """Loads, warms up, switches and unloads versions of the models under ``serving_dir``.

    Args:
      serving_dir: the model base path root (``<output_dir>/export``).
      model_names: names to serve; ``None`` reads ``models.config`` (re-read on every
        poll, so newly exported models appear), else every model folder found.
      poll_seconds: seconds between polls; ``0`` polls once at start (TF Serving's
        meaning of ``--file_system_poll_wait_seconds=0``).
      warmup: replay each version's warmup requests before serving it.
    """

    def __init__(self, serving_dir, model_names=None, poll_seconds=1.0, warmup=True):
        serving_dir = os.fspath(serving_dir)
        if not os.path.isdir(serving_dir):
            raise ValueError(f"--serving_dir {serving_dir!r} is not a folder; pass the export "
                             "folder of a run, e.g. runs/demo/export.")
        self.serving_dir = os.path.realpath(serving_dir)
        if model_names is not None:
            model_names = list(model_names)
            bad = [n for n in model_names if not valid_model_name(n)]
            if bad or not model_names:
                raise ValueError(f"model names {bad or model_names!r} are not valid: use letters, "
                                 "digits, '_', '-', '.', not starting with '.' or '-', not all "
                                 "digits.")
        self._fixed_names = model_names
        self.poll_seconds = float(poll_seconds)
        if self.poll_seconds < 0:
            raise ValueError(f"poll_seconds must be >= 0, got {poll_seconds}.")
        self.warmup = warmup
        self._lock = threading.RLock()
        self._poll_lock = threading.Lock()
        self._models = {}
        self._stop = threading.Event()
        self._thread = None

    # ---------------------------------------------------------------- names
    def model_names(self):
        with self._lock:
            return sorted(self._models)

    def _discover_names(self):
        if self._fixed_names is not None:
            return self._fixed_names
        config_path = os.path.join(self.serving_dir, model_config_lib.MODEL_CONFIG_FILENAME)
        if os.path.exists(config_path):
            config = model_config_lib.read_model_config(config_path)
            names = []
            for entry in config.model_config_list.config:
                if not valid_model_name(entry.name):
                    log.warning("models.config lists %r, not a valid model name; skipped",
                                entry.name)
                    continue
                expected = os.path.join(self.serving_dir, entry.name)
                if entry.base_path and os.path.realpath(entry.base_path) != os.path.realpath(
                        expected) and not entry.base_path.startswith("/models/"):
                    log.info("models.config gives base_path %s for %r; this server reads %s",
                             entry.base_path, entry.name, expected)
                names.append(entry.name)
            return names
        names = []
        for name in sorted(os.listdir(self.serving_dir)):
            folder = os.path.join(self.serving_dir, name)
            if valid_model_name(name) and os.path.isdir(folder) and any(
                    child.isdigit() for child in os.listdir(folder)):
                names.append(name)
        return names

    # ---------------------------------------------------------------- polling
    def start(self):
        """Polls once (loading what is there), then keeps polling in a daemon thread."""
        self.poll_once(initial=True)
        if self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="version-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self):
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll_once()
            except Exception:  # a bad poll must not kill the poller
                log.exception("poll of %s failed", self.serving_dir)

    def poll_once(self, initial=False):
        """One pass over every model: load a newer stable version if there is one."""
        with self._poll_lock:
            try:
                names = self._discover_names()
            except (ValueError, OSError) as e:
                log.error("cannot read the model list: %s", e)
                names = []
            for name in names:
                with self._lock:
                    model = self._models.get(name)
                    if model is None:
                        model = _Model(name, os.path.join(self.serving_dir, name))
                        self._models[name] = model
                self._poll_model(model, initial)

    def _scan(self, model):
        base = model.base_path
        if not os.path.isdir(base):
            model.problem = f"no folder {base}"
            return {}
        if not _inside(base, self.serving_dir):
            model.problem = (f"{base} resolves to {os.path.realpath(base)}, outside --serving_dir; "
                             "it is not served")
            return {}
        model.problem = ""
        found = {}
        for child in os.listdir(base):
            if child.isdigit() and child.isascii() and os.path.isdir(os.path.join(base, child)):
                found[int(child)] = os.path.join(base, child)
        return found

    def _poll_model(self, model, initial):
        present = self._scan(model)
        fingerprints, refused = {}, {}
        for version, path in present.items():
            try:
                fingerprints[version] = fingerprint(path, self.serving_dir)
            except ServingError as e:  # compared by value, so it is reported once
                fingerprints[version] = ("refused", e.code, e.message)
                refused[version] = e
        current = model.serving
        if current is not None and current.version not in present:
            log.warning("%s version %d disappeared from %s", model.name, current.version,
                        model.base_path)
            floor = None  # the served version is gone: any remaining one may take over
        else:
            floor = current.version if current is not None else None
        switched = False
        for version in sorted(present, reverse=True):
            if floor is not None and version <= floor:
                break
            fp = fingerprints[version]
            record = model.versions.get(version)
            if record is not None and record.state == END and record.fingerprint == fp:
                continue  # failed before and unchanged
            if version in refused:
                error = refused[version]
                self._record_failure(model, version, present[version], error.code,
                                     error.message, fp)
                continue
            if not initial and model.seen.get(version) != fp:
                with self._lock:  # new or still changing: wait one poll for it to settle
                    if record is None or record.state == END:
                        model.versions[version] = Version(model.name, version, present[version])
                continue
            if self._load(model, version, present[version], fp):
                switched = True
                break
        if floor is None and current is not None and current.version not in present \
                and not switched:
            with self._lock:
                model.serving = None
                self._retire(current)
        model.seen = {v: fp for v, fp in fingerprints.items()}

    def _record_failure(self, model, version, path, code, message, fp):
        with self._lock:
            record = model.versions.get(version) or Version(model.name, version, path)
            record.state, record.fingerprint = END, fp
            record.error_code, record.error_message = code, message
            record.loaded = record.functions = None
            model.versions[version] = record
        log.error("%s version %d not loaded: %s: %s", model.name, version, code, message)

    def _load(self, model, version, path, fp):
        with self._lock:
            record = Version(model.name, version, path, state=LOADING, fingerprint=fp)
            model.versions[version] = record
        log.info("loading %s version %d from %s", model.name, version, path)
        try:
            if not os.path.isfile(os.path.join(path, "saved_model.pb")):
                raise ServingError("NOT_FOUND", f"{path} has no saved_model.pb (a half-written "
                                   "version?); it is retried when its files change.")
            loaded = tf.saved_model.load(path)
            signature_defs_all = warmup_lib.read_signature_defs(path)
            signature_defs = {name: sig for name, sig in signature_defs_all.items()
                              if name in loaded.signatures}
            functions = {name: loaded.signatures[name] for name in signature_defs}
            if not functions:
                raise ServingError("FAILED_PRECONDITION",
                                   f"{path} has no serving signatures to call.")
            if self.warmup:
                count = len(warmup_lib.read_warmup_requests(path))
                warmup_lib.run_warmup_requests(path, loaded)
                log.info("%s version %d: replayed %d warmup request(s)", model.name, version,
                         count)
        except Exception as e:  # any failure leaves the old version serving
            self._record_failure(model, version, path, *_describe_load_error(e), fp)
            return False
        with self._lock:
            record.loaded = loaded
            record.signature_defs = signature_defs
            record.signature_defs_all = signature_defs_all
            record.functions = functions
            record.input_specs = {name: _input_specs(sig) for name, sig in signature_defs.items()}
            record.state = AVAILABLE
            old, model.serving = model.serving, record
            if old is not None:
                self._retire(old)
        log.info("serving %s version %d%s", model.name, version,
                 f" (was {old.version})" if old is not None else "")
        return True

    def _retire(self, record):
        """Marks a version UNLOADING; it ends when its last in-flight request is done."""
        record.state = UNLOADING
        if record.inflight == 0:
            self._finish_unload(record)

    @staticmethod
    def _finish_unload(record):
        record.state = END
        record.loaded = record.functions = None
        log.info("unloaded %s version %d", record.model_name, record.version)

    # ------------------------------------------------------------- requests
    def acquire(self, name, version=None):
        """Pins the version that answers a request (the served one, or ``version``).

        Raises:
          ServingError(NOT_FOUND) as TF Serving words it.
        """
        spec = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        with self._lock:
            model = self._models.get(name)
            record = None
            if model is not None:
                record = model.serving if version is None else model.versions.get(version)
            if record is None or record.state != AVAILABLE:
                raise not_found(f"Servable not found for request: {spec}")
            record.inflight += 1
            return record

    def release(self, record):
        with self._lock:
            record.inflight -= 1
            if record.state == UNLOADING and record.inflight == 0:
                self._finish_unload(record)

    def status(self, name, version=None):
        """``[{version, state, error_code, error_message}]``, newest first, for GetModelStatus."""
        with self._lock:
            model = self._models.get(name)
            if version is not None:
                record = model.versions.get(version) if model is not None else None
                if record is None:
                    raise not_found(f"Could not find version {version} of model {name}")
                records = [record]
            else:
                records = ([model.versions[v] for v in sorted(model.versions, reverse=True)]
                           if model is not None else [])
                if not records:
                    hint = f" ({model.problem})" if model is not None and model.problem else ""
                    raise not_found(f"Could not find any versions of model {name}{hint}")
            return [dict(version=r.version, state=r.state, error_code=r.error_code,
                         error_message=r.error_message) for r in records]

    def serving_version(self, name):
        """The version number now answering ``name`` (None if none)."""
        with self._lock:
            model = self._models.get(name)
            return model.serving.version if model is not None and model.serving else None
