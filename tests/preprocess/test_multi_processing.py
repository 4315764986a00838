"""run_preprocess with 2 DirectRunner workers: threads (the default) and processes.

Kept apart from test_beam_pipeline.py: each worker process starts a Python
interpreter and imports Beam (no TensorFlow), a few seconds per worker on 2 cores.
"""

import os

import pytest

from tfgan_pipeline.preprocess import beam_pipeline

#: End-to-end runs: the "slow" tier (see BUILD.md, "Test tiers").
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["multi_threading", "multi_processing"])
def test_overwrite_with_two_workers_gives_the_same_records(flat_data, mode, tmp_path):
    out = tmp_path / "out_mp"
    (out / "tfrecords").mkdir(parents=True)  # leftovers of an interrupted run: no config.json
    (out / "stats.json").write_text("{}")
    kwargs = dict(data_dir=flat_data.data_dir, output_dir=str(out), val_fraction=0.3, num_shards=1)

    first = beam_pipeline.run_preprocess(
        beam_pipeline.PreprocessConfig(load_size=4, **kwargs), verbose=False)
    assert first.records_per_split == {"train": 8, "val": 2} and not first.reused

    args = () if mode == "multi_threading" else (f"--direct_running_mode={mode}",)
    config = beam_pipeline.PreprocessConfig(load_size=6, num_workers=2, beam_pipeline_args=args,
                                            **kwargs)
    flags = beam_pipeline.pipeline_flags(config)
    assert "--direct_num_workers=2" in flags and f"--direct_running_mode={mode}" in flags
    second = beam_pipeline.run_preprocess(config, overwrite=True, verbose=False)
    assert second.records_per_split == first.records_per_split
    assert flat_data.rejects(second.rejects_path) == dict(flat_data.bad)
    names = sorted(name for name, _, _ in flat_data.records(second.tfrecords["train"]))
    assert names == sorted(set(flat_data.good) - flat_data.val_at_0_3)
    _, input_image, _ = flat_data.records(second.tfrecords["val"])[0]
    assert input_image.shape == (6, 6, 3)  # the load_size 4 output was replaced
    assert os.listdir(tmp_path) == ["out_mp"]  # no temp or old folders
