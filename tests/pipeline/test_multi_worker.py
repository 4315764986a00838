"""Two worker processes on 127.0.0.1 train one GAN with MultiWorkerMirroredStrategy.

Both run the same job (the Keras multi-worker convention); the chief records and
publishes, worker 1 trains into a temporary folder. They must take the same number
of steps and end with identical weights.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.pipeline.metadata import MetadataStore

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_WORKER = textwrap.dedent("""
    import sys
    from tfgan_pipeline import config
    from tfgan_pipeline.pipeline import jobs
    cfg = config.GANConfig(gan="gan", dataset="ring8", output_dir=sys.argv[1], train_steps=12,
                           checkpoint_every=6, batch_size=16, num_samples=200,
                           pipeline_name="mw", distribution_strategy="multi_worker",
                           require_beating_baseline=False)
    result = jobs.run_job(cfg)
    print("RESULT", sorted(result.runs))
""")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _weights(checkpoint_prefix):
    """Every saved variable: the networks' weights (reached through the optimizers'
    tracked variables), the optimizers' slots and step counters."""
    reader = tf.train.load_checkpoint(checkpoint_prefix)
    names = sorted(n for n in reader.get_variable_to_shape_map()
                   if n.endswith("VARIABLE_VALUE"))
    return {n: reader.get_tensor(n) for n in names}


def _run_two_workers(root, script):
    """Runs ``script`` (argv: ``root``, the worker index) in two worker processes of one
    cluster on 127.0.0.1; returns their outputs after checking both exited 0."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": index}}),
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append(subprocess.Popen([sys.executable, "-c", script, root, str(index)], cwd=REPO,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-4000:]
    print("chief:\n" + outputs[0][-2500:] + "\nworker 1:\n" + outputs[1][-2500:])
    return outputs


def _assert_identical_weights(root):
    """Checks the chief's and worker 1's final weights are equal after 12 steps; returns
    the chief's model folder."""
    # Only the chief wrote metadata; worker 1's outputs are in its temporary folder.
    store = MetadataStore(os.path.join(root, "metadata.sqlite"))
    trainer, = store.executions("Trainer", "COMPLETE")
    model_uri = [store.get_artifact(e.artifact_id).uri for e in
                 store.events_of_execution(trainer.id) if e.key == "model" and e.type == "OUTPUT"][0]
    chief = _weights(os.path.join(model_uri, "checkpoint", "model"))
    worker = _weights(os.path.join(root, "mw", ".worker-1", "Trainer", "model", "checkpoint",
                                   "model"))
    assert len(chief) > 20 and sorted(chief) == sorted(worker)
    assert int(chief["g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"]) == 12
    for name in chief:
        np.testing.assert_array_equal(chief[name], worker[name], err_msg=name)
    return model_uri


def test_two_workers_train_the_same_steps_to_identical_weights(tmp_path):
    root = str(tmp_path)
    outputs = _run_two_workers(root, _WORKER)
    assert "RESULT ['Evaluator', 'ExampleGen', 'Pusher', 'Trainer']" in outputs[0]
    assert "RESULT ['ExampleGen', 'Trainer']" in outputs[1]
    assert "Evaluator: skipped on worker 1 (chief only)" in outputs[1]
    for out in outputs:
        assert "2 replica(s)" in out and "step 12/12" in out
        assert "Trainer: precision auto -> float32 (" in out and "different policies" not in out
    model_uri = _assert_identical_weights(root)
    for spec_dir in (model_uri, os.path.join(root, "mw", ".worker-1", "Trainer", "model")):
        assert json.load(open(os.path.join(spec_dir, "model.json")))["steps"] == 12


def test_workers_that_resolve_different_policies_all_run_float32(tmp_path):
    # auto measures bf16 on each worker's own CPU: here worker 0 "measures" bf16 faster and
    # worker 1 does not. One model's replicas must run one policy: both take float32.
    script = _WORKER.replace("from tfgan_pipeline.pipeline import jobs", textwrap.dedent("""
        from tfgan_pipeline import precision
        from tfgan_pipeline.pipeline import components, jobs
        mine = ("mixed_bfloat16", "float32")[int(sys.argv[2])]
        components._precision_choice = lambda requested, data: precision.PrecisionChoice(
            mine, f"test: this worker resolved {mine}")
        """))
    outputs = _run_two_workers(str(tmp_path), script)
    for index, out in enumerate(outputs):
        mine = ("mixed_bfloat16", "float32")[index]
        assert (f"Trainer: precision auto -> float32 (test: this worker resolved {mine}; but "
                "the workers resolved different policies, so all run float32)") in out
        assert "step 12/12" in out
    _assert_identical_weights(str(tmp_path))
