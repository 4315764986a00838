"""Versioned atomic export, and loading in the three loaders TF Serving users meet."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline import export
from tfgan_pipeline.export import saved_model as saved_model_lib

from ._helpers import IMAGE_SIZE, LATENT_DIM, build_image_generator, uint8_images


def _gan_export(output_dir, generator, **kwargs):
    return export.export_saved_model(output_dir, "gan", export.gan_generator_signatures(generator),
                                     generator, **kwargs)


def _children(path):
    return sorted(os.listdir(path))


# ------------------------------------------------------------------ versioning
def test_versions_count_up_and_leftover_temp_folders_are_not_versions(tmp_path, gan_generator):
    first = _gan_export(tmp_path, gan_generator)
    second = _gan_export(tmp_path, gan_generator)
    assert (first.version, second.version) == (1, 2)
    assert second.path == os.path.join(tmp_path, "export", "gan", "2")
    assert second.base_path == os.path.join(tmp_path, "export", "gan")
    # A crashed export leaves a temp folder; stray files and names are no versions either.
    os.makedirs(os.path.join(second.base_path, ".tmp-crashed", "variables"))
    os.makedirs(os.path.join(second.base_path, "notes"))
    open(os.path.join(second.base_path, "7"), "w").close()  # a file, not a folder
    assert export.list_versions(second.base_path) == [1, 2]
    third = _gan_export(tmp_path, gan_generator)
    assert third.version == 3
    assert _children(second.base_path) == [".tmp-crashed", "1", "2", "3", "7", "notes"]
    assert os.path.isfile(os.path.join(third.path, "saved_model.pb"))


def test_existing_version_is_never_overwritten(tmp_path, gan_generator):
    result = _gan_export(tmp_path, gan_generator, version=5)
    assert result.version == 5
    pb = os.path.join(result.path, "saved_model.pb")
    before = (os.stat(pb).st_mtime_ns, open(pb, "rb").read())
    with pytest.raises(FileExistsError, match="version 5 of 'gan' already exists"):
        _gan_export(tmp_path, gan_generator, version=5)
    assert (os.stat(pb).st_mtime_ns, open(pb, "rb").read()) == before
    assert _gan_export(tmp_path, gan_generator).version == 6
    assert _children(result.base_path) == ["5", "6"]  # no temp folder left behind


def test_publish_retries_the_next_number_when_a_version_appears(tmp_path, monkeypatch):
    # Simulates a concurrent exporter claiming version 1 between our scan and rename.
    base = tmp_path / "m"
    tmp_dir = base / ".tmp-x"
    os.makedirs(tmp_dir)
    (tmp_dir / "payload").write_text("ours")
    real_list = saved_model_lib.list_versions
    calls = []

    def racing_list_versions(path):
        calls.append(path)
        if len(calls) == 1:
            os.makedirs(base / "1")
            (base / "1" / "payload").write_text("theirs")
            return []
        return real_list(path)

    monkeypatch.setattr(saved_model_lib, "list_versions", racing_list_versions)
    assert saved_model_lib._publish(str(tmp_dir), str(base), None) == 2
    assert (base / "1" / "payload").read_text() == "theirs"
    assert (base / "2" / "payload").read_text() == "ours"


def test_argument_errors_say_what_to_do(tmp_path, gan_generator):
    signatures = export.gan_generator_signatures(gan_generator)
    with pytest.raises(ValueError, match="must not start|letters, digits"):
        export.export_saved_model(tmp_path, ".hidden", signatures, gan_generator)
    with pytest.raises(ValueError, match="must not be all digits"):
        export.export_saved_model(tmp_path, "123", signatures, gan_generator)
    with pytest.raises(ValueError, match="without input_signature"):
        export.export_saved_model(tmp_path, "m", {"f": tf.function(lambda z: z)}, gan_generator)
    with pytest.raises(ValueError, match="non-empty dict"):
        export.export_saved_model(tmp_path, "m", {}, gan_generator)
    with pytest.raises(ValueError, match="remote URL"):
        export.export_saved_model("gs://bucket/run", "m", signatures, gan_generator)
    with pytest.raises(TypeError, match="variables_owner must be"):
        export.export_saved_model(tmp_path, "m", signatures, "generator")
    with pytest.raises(ValueError, match="version must be"):
        export.export_saved_model(tmp_path, "m", signatures, gan_generator, version=-1)
    assert not os.path.exists(os.path.join(tmp_path, "export", "m"))


def test_signature_reading_an_unowned_model_fails_before_publishing(tmp_path, gan_generator):
    other = keras.Sequential([keras.Input((LATENT_DIM,)), keras.layers.Dense(2)])

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32, name="z")])
    def both(z):
        return {"images": gan_generator(z), "extra": other(z)}

    with pytest.raises(ValueError, match="variables_owner does not own"):
        export.export_saved_model(tmp_path, "m", {"serving_default": both}, gan_generator)
    assert export.list_versions(os.path.join(tmp_path, "export", "m")) == []
    assert _children(os.path.join(tmp_path, "export", "m")) == []
    result = export.export_saved_model(tmp_path, "m", {"serving_default": both},
                                       [gan_generator, other])
    assert result.version == 1


def test_collect_tf_variables_unwraps_keras_variables_without_duplicates(gan_generator):
    variables = export.collect_tf_variables([gan_generator, gan_generator])
    assert len(variables) == len(gan_generator.variables)
    assert all(isinstance(v, tf.Variable) and not isinstance(v, keras.Variable)
               for v in variables)


def test_assets_extra_are_written_beside_the_warmup_file(tmp_path, gan_generator):
    config = tmp_path / "config.json"
    config.write_text('{"lr": 0.0002}')
    result = _gan_export(tmp_path, gan_generator, assets_extra={
        "run_config.json": str(config), "README.txt": b"tiny dcgan"})
    extra = os.path.join(result.path, "assets.extra")
    assert open(os.path.join(extra, "run_config.json")).read() == '{"lr": 0.0002}'
    assert open(os.path.join(extra, "README.txt"), "rb").read() == b"tiny dcgan"
    with pytest.raises(ValueError, match="plain file name"):
        _gan_export(tmp_path, gan_generator, assets_extra={"../escape": b"x"})
    with pytest.raises(ValueError, match="not an existing file"):
        _gan_export(tmp_path, gan_generator, assets_extra={"a": str(tmp_path / "missing")})
    assert export.list_versions(result.base_path) == [1]


# ------------------------------------------------------------------- loaders
def test_tf1_session_loader_runs_both_pix2pix_signatures(pix2pix_export):
    """The graph-restore path the C++ model server takes (fails without explicit tracking)."""
    generator, result, _ = pix2pix_export
    pixels = uint8_images(2, seed=11)
    x = pixels.astype(np.float32) / 127.5 - 1.0
    pngs = [tf.io.encode_png(p).numpy() for p in pixels]
    expected = generator(x, training=False).numpy()
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], result.path)
        floats = meta_graph.signature_def["serving_float"]
        out = session.run(floats.outputs["output_images"].name,
                          {floats.inputs["images"].name: x})
        default = meta_graph.signature_def["serving_default"]
        out_png = session.run(default.outputs["output_png_bytes"].name,
                              {default.inputs["image_bytes"].name: pngs})
    np.testing.assert_allclose(out, expected, atol=1e-5)
    decoded = np.stack([tf.io.decode_png(p).numpy() for p in out_png]).astype(np.float32)
    assert np.abs(decoded - (expected + 1.0) * 127.5).max() <= 0.5 + 1e-3


def test_tf1_loader_reads_a_generator_built_under_mirrored_strategy(tmp_path, two_cpu_devices):
    strategy = tf.distribute.MirroredStrategy(two_cpu_devices)
    with strategy.scope():
        generator = build_image_generator()
    result = export.export_saved_model(tmp_path, "mirrored",
                                       export.pix2pix_signatures(generator, IMAGE_SIZE), generator)
    x = uint8_images(1).astype(np.float32) / 127.5 - 1.0
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        signature = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], result.path).signature_def["serving_float"]
        out = session.run(signature.outputs["output_images"].name,
                          {signature.inputs["images"].name: x})
    np.testing.assert_allclose(out, generator(x, training=False).numpy(), atol=1e-5)


def test_saved_model_cli_run_gives_the_generator_output(pix2pix_export, tmp_path):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        pytest.skip(f"saved_model_cli not found next to {sys.executable}")
    generator, result, _ = pix2pix_export
    x = uint8_images(1, seed=12).astype(np.float32) / 127.5 - 1.0
    np.save(tmp_path / "images.npy", x)
    completed = subprocess.run(
        [cli, "run", "--dir", result.path, "--tag_set", "serve", "--signature_def",
         "serving_float", "--inputs", f"images={tmp_path / 'images.npy'}",
         "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""})
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = np.load(tmp_path / "out" / "output_images.npy")
    np.testing.assert_allclose(out, generator(x, training=False).numpy(), atol=1e-5)
