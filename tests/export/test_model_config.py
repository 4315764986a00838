"""models.config for --model_config_file: parses as ModelServerConfig, merges models."""

import os

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfgan_pipeline import export


def _parse(path):
    config = model_server_config_pb2.ModelServerConfig()
    with open(path) as f:
        text_format.Parse(f.read(), config)
    return {c.name: (c.base_path, c.model_platform) for c in config.model_config_list.config}


def test_export_writes_a_parsable_models_config(tmp_path, gan_generator):
    result = export.export_saved_model(
        tmp_path, "dcgan", export.gan_generator_signatures(gan_generator), gan_generator)
    assert result.model_config_path == os.path.join(tmp_path, "export", "models.config")
    assert _parse(result.model_config_path) == {"dcgan": (result.base_path, "tensorflow")}
    assert os.path.isabs(result.base_path)
    # Readable by a server running as another user (mkstemp files are 0600).
    assert os.stat(result.model_config_path).st_mode & 0o044 == 0o044


def test_serving_root_sets_the_base_path_the_server_sees(tmp_path, gan_generator):
    result = export.export_saved_model(
        tmp_path, "dcgan", export.gan_generator_signatures(gan_generator), gan_generator,
        serving_root="/models/")
    assert _parse(result.model_config_path) == {"dcgan": ("/models/dcgan", "tensorflow")}


def test_update_keeps_other_models_and_replaces_its_own_entry(tmp_path):
    path = str(tmp_path / "models.config")
    with open(path, "w") as f:
        f.write('model_config_list { config { name: "other" base_path: "/srv/other" '
                'model_platform: "tensorflow" model_version_policy { all {} } } }')
    export.update_model_config(path, "pix2pix", "/srv/pix2pix_v1")
    export.update_model_config(path, "pix2pix", "/srv/pix2pix")
    assert _parse(path) == {"other": ("/srv/other", "tensorflow"),
                            "pix2pix": ("/srv/pix2pix", "tensorflow")}
    config = export.read_model_config(path)
    assert len(config.model_config_list.config) == 2
    assert config.model_config_list.config[0].model_version_policy.HasField("all")
    assert [n for n in os.listdir(tmp_path) if n != "models.config"] == []  # no temp files


def test_unmergeable_config_files_are_reported(tmp_path):
    custom = tmp_path / "custom.config"
    custom.write_text('custom_model_config { type_url: "x" }')
    with pytest.raises(ValueError, match="uses custom_model_config"):
        export.update_model_config(str(custom), "m", "/srv/m")
    garbage = tmp_path / "garbage.config"
    garbage.write_text("this is not a proto {")
    with pytest.raises(ValueError, match="is not a text-format ModelServerConfig"):
        export.update_model_config(str(garbage), "m", "/srv/m")
    assert garbage.read_text() == "this is not a proto {"


def test_no_models_config_when_not_asked(tmp_path, gan_generator):
    result = export.export_saved_model(
        tmp_path, "dcgan", export.gan_generator_signatures(gan_generator), gan_generator,
        write_model_config=False)
    assert result.model_config_path is None
    assert os.listdir(os.path.join(tmp_path, "export")) == ["dcgan"]


def test_an_unusable_models_config_stops_the_export_before_publishing(tmp_path, gan_generator):
    os.makedirs(tmp_path / "export")
    (tmp_path / "export" / "models.config").write_text('custom_model_config { type_url: "x" }')
    with pytest.raises(ValueError, match="uses custom_model_config"):
        export.export_saved_model(
            tmp_path, "dcgan", export.gan_generator_signatures(gan_generator), gan_generator)
    assert export.list_versions(tmp_path / "export" / "dcgan") == []
