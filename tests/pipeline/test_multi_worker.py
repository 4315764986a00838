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


def test_two_workers_train_the_same_steps_to_identical_weights(tmp_path):
    root = str(tmp_path)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": index}}),
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER, root], cwd=REPO, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-4000:]
    print("chief:\n" + outputs[0][-2500:] + "\nworker 1:\n" + outputs[1][-2500:])
    assert "RESULT ['Evaluator', 'ExampleGen', 'Pusher', 'Trainer']" in outputs[0]
    assert "RESULT ['ExampleGen', 'Trainer']" in outputs[1]
    assert "Evaluator: skipped on worker 1 (chief only)" in outputs[1]
    for out in outputs:
        assert "2 replica(s)" in out and "step 12/12" in out
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
    for spec_dir in (model_uri, os.path.join(root, "mw", ".worker-1", "Trainer", "model")):
        assert json.load(open(os.path.join(spec_dir, "model.json")))["steps"] == 12
