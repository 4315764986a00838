"""ExperimentsConfig validation and the command line (bad flags write nothing)."""

import json
import os
import subprocess
import sys

import pytest

from tfgan_pipeline.experiments import NAMES, ConfigError, ExperimentsConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_defaults_and_names():
    config = ExperimentsConfig(experiment="kl_direction,diminished_gradient")
    assert config.names == ("diminished_gradient", "kl_direction")  # registry order
    assert (config.seeds, config.budget) == (3, "full")


@pytest.mark.parametrize("field, value, expected", [
    ("experiment", "nope", "optimal_discriminator"),
    ("experiment", "all,kl_direction", "'all'"),
    ("experiment", "", "choose 'all'"),
    ("seeds", 0, "from 1 to 10"),
    ("seeds", 11, "from 1 to 10"),
    ("seeds", True, "from 1 to 10"),
    ("budget", "huge", "full, smoke"),
    ("output_dir", "", "non-empty"),
])
def test_bad_values_name_the_flag_and_the_allowed_values(field, value, expected):
    kwargs = {"experiment": "kl_direction", field: value}
    with pytest.raises(ConfigError) as e:
        ExperimentsConfig(**kwargs)
    assert e.value.field == field
    assert str(e.value).startswith(f"--{field}:")
    assert expected in str(e.value)


def test_missing_data_folders_are_checked_only_for_experiments_that_need_them(tmp_path):
    missing = str(tmp_path / "absent")
    ExperimentsConfig(experiment="kl_direction", mnist_dir=missing, maps_dir=missing)
    with pytest.raises(ConfigError, match="--mnist_dir: .*infogan_codes"):
        ExperimentsConfig(experiment="infogan_codes", mnist_dir=missing)
    with pytest.raises(ConfigError, match="--maps_dir: .*pix2pix_ablations"):
        ExperimentsConfig(experiment="all", mnist_dir=str(tmp_path), maps_dir=missing)


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "pipelines.experiments", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("flag, allowed", [
    ("--experiment=nope", ", ".join(NAMES)),
    ("--budget=huge", "full, smoke"),
    ("--seeds=0", "1 to 10"),
])
def test_cli_bad_flag_fails_naming_it_and_writes_nothing(tmp_path, flag, allowed):
    out = tmp_path / "out"
    proc = _cli(flag, f"--output_dir={out}", "--experiment=kl_direction"
                if not flag.startswith("--experiment") else "--seeds=1")
    assert proc.returncode != 0
    assert flag.split("=")[0] in proc.stderr and allowed in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


@pytest.mark.slow
def test_cli_runs_one_experiment_with_two_seeds(tmp_path):
    out = tmp_path / "out"
    proc = _cli("--experiment=kl_direction", "--budget=smoke", "--seeds=2", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "kl_direction" / "result.json").read_text())
    assert result["seeds"] == [0, 1] and result["budget"] == "smoke"
    assert all(len(c["values"]) == 2 for c in result["claims"])
    assert "pipelines.experiments" in result["command"]
    assert (out / "index.html").exists() and (out / "summary.md").exists()
    assert "[kl_direction] done in" in proc.stdout
