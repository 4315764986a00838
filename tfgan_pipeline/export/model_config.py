"""``models.config`` for ``tensorflow_model_server --model_config_file``.

The file is a text-format ``tensorflow.serving.ModelServerConfig`` with one
``config { name base_path model_platform }`` entry per served model (TF Serving
guide, "Serving Configuration"). Every export adds or updates its model's entry
and keeps the others, so one server can serve all models of an output folder::

    model_config_list {
      config {
        name: "pix2pix_maps"
        base_path: "/models/pix2pix_maps"
        model_platform: "tensorflow"
      }
    }
"""

import os
import tempfile

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

MODEL_CONFIG_FILENAME = "models.config"


def read_model_config(path):
    """Parses a text ``ModelServerConfig``; an absent file gives an empty config."""
    config = model_server_config_pb2.ModelServerConfig()
    if os.path.exists(path):
        with open(path) as f:
            try:
                text_format.Parse(f.read(), config)
            except text_format.ParseError as e:
                raise ValueError(f"{path} is not a text-format ModelServerConfig ({e}); fix or "
                                 "remove it so the export can add its model.") from e
    return config


def check_model_config(path):
    """Reads ``path`` and checks that an export can add a model to it.

    Returns:
      The parsed ``ModelServerConfig`` (empty when the file does not exist yet).
    """
    config = read_model_config(path)
    if config.WhichOneof("config") == "custom_model_config":
        raise ValueError(f"{path} uses custom_model_config; only model_config_list files can "
                         "be updated. Remove the file or list the model by hand.")
    return config


def update_model_config(path, model_name, base_path, model_platform="tensorflow"):
    """Adds or updates one model's entry in ``path``, keeping the other models.

    The file is replaced atomically (write to a temporary file, then
    ``os.replace``), so a server reloading it never reads half a file.

    Args:
      path: the ``models.config`` path.
      model_name: the served model's name.
      base_path: the folder that holds its integer versions, as the server sees it.
      model_platform: TF Serving platform, ``"tensorflow"`` for SavedModels.

    Returns:
      The written ``ModelServerConfig``.
    """
    config = check_model_config(path)
    entries = config.model_config_list.config
    matches = [entry for entry in entries if entry.name == model_name]
    entry = matches[0] if matches else entries.add()
    entry.name = model_name
    entry.base_path = base_path
    entry.model_platform = model_platform

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".models.config.", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text_format.MessageToString(config))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the server may run as another user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return config
