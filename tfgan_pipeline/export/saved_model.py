"""Versioned, atomic SavedModel export in the TensorFlow Serving layout.

One exporter serves every model family: a family only declares its serving
signatures (see :mod:`tfgan_pipeline.export.signatures`) and which Keras models own
the variables they read. The exporter writes::

    <output_dir>/export/
        models.config                  # text ModelServerConfig for --model_config_file
        <model_name>/
            1/                         # one SavedModel per integer version
                saved_model.pb
                variables/
                assets.extra/tf_serving_warmup_requests
            2/ ...

Why it looks like this:

* TF Serving's file-system source polls ``<model_name>/`` and loads every child
  whose name parses as an integer (``FileSystemStoragePathSource``,
  ``ParseVersionNumber``); anything else is ignored. We therefore write into a
  ``.tmp-*`` sibling that the server never considers, and ``os.rename`` it to the
  version number only once the SavedModel, warmup file and extra assets are
  complete (and, by default, verified). A polling server sees either no version or
  a whole one. An existing version is never overwritten.
* Keras 3 variables wrap ``tf.Variable``. ``tf.saved_model.save`` of a module that
  merely *holds* a Keras model writes a SavedModel that ``tf.saved_model.load``
  reads but the TF1 graph loader -- the C++ path TF Serving and ``saved_model_cli``
  take -- fails on with "Could not find variable ..." (keras-team/keras#20095).
  The exporter's module tracks the underlying ``tf.Variable`` objects explicitly
  (``[v.value for v in model.variables]``), which restores in all three loaders.
* Warmup: TF Serving replays ``assets.extra/tf_serving_warmup_requests`` (TFRecord
  of ``PredictionLog``, at most 1000) at load time, and refuses to load a version
  whose warmup fails; the exporter runs them once through the saved model before
  publishing it (see :mod:`tfgan_pipeline.export.warmup`).

Atomicity relies on ``os.rename`` within one POSIX file system; object stores
(``gs://``, ``s3://``) have no atomic directory rename, so export locally and copy
the finished version directory.
"""

import dataclasses
import os
import re
import shutil
import uuid

import keras
import tensorflow as tf

from tfgan_pipeline.export import model_config as model_config_lib
from tfgan_pipeline.export import warmup as warmup_lib

#: Sub-folder of the run's output directory that holds every exported model.
EXPORT_SUBDIR = "export"
#: Prefix of in-progress export folders; TF Serving ignores non-integer names.
TEMP_PREFIX = ".tmp-"
#: Folder inside a SavedModel for files TF Serving reads besides the graph.
ASSETS_EXTRA = "assets.extra"

_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went.

    Attributes:
      path: the published SavedModel directory ``<base_path>/<version>``.
      version: its integer version.
      model_name: the served model's name.
      base_path: ``<serving_dir>/<model_name>`` (TF Serving's model base path).
      model_config_path: the ``models.config`` that lists the model, or ``None``
        when the export was asked not to write one.
    """

    path: str
    version: int
    model_name: str
    base_path: str
    model_config_path: str | None


class _ServingModule(tf.Module):
    """What gets saved: the variables the signatures read, tracked explicitly."""

    def __init__(self, tf_variables):
        super().__init__(name="serving")
        # Tracking the raw tf.Variables (not the Keras wrappers) is what makes the
        # SavedModel restorable by the TF1/C++ loader; see the module docstring.
        self.tf_variables = list(tf_variables)


def export_root(output_dir):
    """Returns ``<output_dir>/export``, the folder that holds every exported model."""
    return os.path.join(os.fspath(output_dir), EXPORT_SUBDIR)


def list_versions(base_path):
    """Returns the published integer versions under a model base path, ascending.

    Only all-digit folder names count (what TF Serving loads); in-progress
    ``.tmp-*`` folders and stray files are ignored.
    """
    base_path = os.fspath(base_path)
    if not os.path.isdir(base_path):
        return []
    return sorted(int(name) for name in os.listdir(base_path)
                  if name.isdigit() and name.isascii()
                  and os.path.isdir(os.path.join(base_path, name)))


def collect_tf_variables(variables_owner):
    """Returns the ``tf.Variable`` objects behind one or more Keras models / tf.Modules.

    Args:
      variables_owner: a ``keras.Layer`` (``keras.Model``), a ``tf.Module``, a
        ``tf.Variable`` / Keras variable, or a list/tuple of these.

    Returns:
      A list of ``tf.Variable`` (Keras variables unwrapped through ``.value``),
      without duplicates, in a stable order.
    """
    owners = (list(variables_owner) if isinstance(variables_owner, (list, tuple))
              else [variables_owner])
    if not owners:
        raise ValueError("variables_owner is empty: pass the keras.Model(s) whose variables "
                         "the serving signatures read (e.g. the generator).")
    found, seen = [], set()

    def add(var):
        if isinstance(var, keras.Variable):
            var = var.value
        if not isinstance(var, tf.Variable):
            raise TypeError(
                f"expected a tf.Variable or a Keras variable, got {type(var).__name__}.")
        if id(var) not in seen:
            seen.add(id(var))
            found.append(var)

    for owner in owners:
        if isinstance(owner, keras.layers.Layer):
            for var in owner.variables:
                add(var)
        elif isinstance(owner, (tf.Variable, keras.Variable)):
            add(owner)
        elif isinstance(owner, tf.Module):
            for var in owner.variables:
                add(var)
        else:
            raise TypeError(
                "variables_owner must be a keras.Model/Layer, a tf.Module, a variable, or a "
                f"list of these; got {type(owner).__name__}.")
    return found


def _check_signatures(signatures):
    if not isinstance(signatures, dict) or not signatures:
        raise ValueError("signatures must be a non-empty dict {signature name: tf.function "
                         "with an input_signature}; see tfgan_pipeline.export.signatures.")
    for name, fn in signatures.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"signature names must be non-empty strings, got {name!r}.")
        if isinstance(fn, tf.types.experimental.ConcreteFunction):
            continue
        if not isinstance(fn, tf.types.experimental.PolymorphicFunction):
            raise TypeError(f"signature {name!r} must be a tf.function, got {type(fn).__name__}.")
        if fn.input_signature is None:
            raise ValueError(
                f"signature {name!r} is a tf.function without input_signature; declare it "
                "with @tf.function(input_signature=[tf.TensorSpec(...), ...]) so the "
                "served input shapes and dtypes are fixed.")


def _check_model_name(model_name):
    if not isinstance(model_name, str) or not _MODEL_NAME_RE.match(model_name):
        raise ValueError(
            f"model_name {model_name!r} must be letters, digits, '_', '-' or '.', not start "
            "with '.' or '-' (it becomes a folder name and TF Serving's MODEL_NAME).")
    if model_name.isdigit():
        raise ValueError(f"model_name {model_name!r} must not be all digits (it would read as "
                         "a version folder).")


def _write_assets_extra(saved_model_dir, assets_extra):
    if not assets_extra:
        return
    folder = os.path.join(saved_model_dir, ASSETS_EXTRA)
    os.makedirs(folder, exist_ok=True)
    for name, content in assets_extra.items():
        if (not isinstance(name, str) or not name or os.sep in name or "/" in name
                or name in (".", "..")):
            raise ValueError(f"assets_extra file name {name!r} must be a plain file name.")
        if name == warmup_lib.WARMUP_FILENAME:
            raise ValueError(f"assets_extra must not contain {name!r}: pass warmup_requests= "
                             "and the exporter writes (and checks) that file.")
        target = os.path.join(folder, name)
        if isinstance(content, bytes):
            with open(target, "wb") as f:
                f.write(content)
        elif isinstance(content, (str, os.PathLike)):
            if not os.path.isfile(content):
                raise ValueError(f"assets_extra[{name!r}] = {content!r} is not an existing file; "
                                 "pass bytes for inline content or a path to copy.")
            shutil.copyfile(content, target)
        else:
            raise TypeError(f"assets_extra[{name!r}] must be bytes or a file path, got "
                            f"{type(content).__name__}.")


def _save(tmp_dir, signatures, tf_variables):
    module = _ServingModule(tf_variables)
    try:
        tf.saved_model.save(module, tmp_dir, signatures=signatures)
    except AssertionError as e:
        if "untracked" not in str(e):
            raise
        raise ValueError(
            "a serving signature reads a variable that variables_owner does not own; pass "
            "every keras.Model the signatures call (e.g. variables_owner=[generator, "
            f"encoder]). TensorFlow said: {str(e).splitlines()[0]}") from e


def export_saved_model(output_dir, model_name, signatures, variables_owner, **kwargs):
    """Exports signatures as ``<output_dir>/export/<model_name>/<version>/`` atomically.

    :func:`push_saved_model` into ``export_root(output_dir)``; the arguments are its.
    """
    return push_saved_model(export_root(output_dir), model_name, signatures, variables_owner,
                            **kwargs)


def push_saved_model(serving_dir, model_name, signatures, variables_owner, *, version=None,
                     warmup_requests=None, assets_extra=None, verify=True,
                     write_model_config=True, serving_root=None):
    """Publishes signatures as ``<serving_dir>/<model_name>/<version>/`` atomically.

    ``serving_dir`` holds TF Serving model base paths (one folder per model) and
    ``models.config``: what the Pusher pushes into, and what ``pipelines.serve`` or
    ``tensorflow_model_server`` serve from.

    Args:
      serving_dir: the folder of model base paths (local file system).
      model_name: the served model's name (folder name and TF Serving ``MODEL_NAME``).
      signatures: dict ``{signature name: tf.function with input_signature}``, e.g.
        from :func:`tfgan_pipeline.export.signatures.pix2pix_signatures`. Name one
        ``"serving_default"``: requests without ``signature_name`` go there.
      variables_owner: the ``keras.Model`` (or list of models / tf.Modules) whose
        variables the signatures read -- usually the generator only.
      version: integer version to write; ``None`` takes the next integer after the
        existing versions (1 for the first export). An existing version is never
        overwritten: asking for one raises ``FileExistsError``.
      warmup_requests: optional list of :class:`~tfgan_pipeline.export.warmup.WarmupRequest`
        written to ``assets.extra/tf_serving_warmup_requests``.
      assets_extra: optional dict ``{file name: bytes or path of a file to copy}``
        placed in ``assets.extra/`` (e.g. the resolved run config).
      verify: load the written SavedModel with ``tf.saved_model.load`` and run every
        warmup request through its signature before publishing (TF Serving refuses
        a version whose warmup fails, so a failing request fails here instead).
        Without warmup requests there is nothing to run and nothing is loaded.
      write_model_config: add/update this model in ``<serving_dir>/models.config``.
      serving_root: where the server sees ``<output_dir>/export`` (e.g. ``"/models"``
        when it is bind-mounted into the ``tensorflow/serving`` container); the
        ``base_path`` in ``models.config`` becomes ``<serving_root>/<model_name>``.
        ``None`` writes the absolute local path.

    Returns:
      An :class:`ExportResult`.
    """
    _check_model_name(model_name)
    _check_signatures(signatures)
    serving_dir = os.fspath(serving_dir)
    if "://" in serving_dir:
        raise ValueError(
            f"serving dir {serving_dir!r} is a remote URL; atomic export needs a local file "
            "system rename. Export locally and copy the finished version folder.")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValueError(f"version must be a non-negative int or None, got {version!r}.")
    requests = list(warmup_requests or [])
    warmup_lib.check_requests(requests, signatures)
    tf_variables = collect_tf_variables(variables_owner)
    config_path = os.path.join(serving_dir, model_config_lib.MODEL_CONFIG_FILENAME)
    if write_model_config:  # fail on an unusable models.config before publishing anything
        model_config_lib.check_model_config(config_path)

    base_path = os.path.abspath(os.path.join(serving_dir, model_name))
    os.makedirs(base_path, exist_ok=True)
    if version is not None and os.path.exists(os.path.join(base_path, str(version))):
        raise FileExistsError(
            f"version {version} of {model_name!r} already exists at "
            f"{os.path.join(base_path, str(version))}; exported versions are never "
            "overwritten. Pass version=None for the next free version.")

    tmp_dir = os.path.join(base_path, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    try:
        _save(tmp_dir, signatures, tf_variables)
        if requests:
            warmup_lib.write_warmup_requests(tmp_dir, requests, model_name=model_name)
        _write_assets_extra(tmp_dir, assets_extra)
        if verify and requests:
            warmup_lib.run_warmup_requests(tmp_dir)
        final_version = _publish(tmp_dir, base_path, version)
    finally:
        if os.path.isdir(tmp_dir):
            shutil.rmtree(tmp_dir, ignore_errors=True)

    if write_model_config:
        config_base = (base_path if serving_root is None
                       else f"{os.fspath(serving_root).rstrip('/')}/{model_name}")
        model_config_lib.update_model_config(config_path, model_name, config_base)
    return ExportResult(path=os.path.join(base_path, str(final_version)), version=final_version,
                        model_name=model_name, base_path=base_path,
                        model_config_path=config_path if write_model_config else None)


def _publish(tmp_dir, base_path, version, max_attempts=100):
    """Renames the finished temp folder to its version; retries the next number on a race."""
    for _ in range(max_attempts):
        target_version = version if version is not None else (
            max(list_versions(base_path), default=0) + 1)
        target = os.path.join(base_path, str(target_version))
        if os.path.exists(target):
            if version is not None:
                raise FileExistsError(f"version {version} appeared at {target} during the "
                                      "export; it was not overwritten.")
            continue
        try:
            # POSIX rename replaces an *empty* target directory; it fails on a
            # non-empty one, which is what a concurrent exporter would leave.
            os.rename(tmp_dir, target)
        except OSError:
            if version is not None or not os.path.exists(target):
                raise
            continue  # another exporter took this number; try the next one
        return target_version
    raise RuntimeError(f"could not claim a free version under {base_path} after "
                       f"{max_attempts} attempts.")
