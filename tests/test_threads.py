"""``distribute.configure_threads``: the ``--intra_op_threads`` / ``--inter_op_threads``
pools, set before TensorFlow starts, refused (naming the flag) when they cannot be."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfgan_pipeline import distribute

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("intra,inter,flag", [(-1, 0, "--intra_op_threads"),
                                              (0, -2, "--inter_op_threads"),
                                              (1.5, 0, "--intra_op_threads"),
                                              (True, 0, "--intra_op_threads")])
def test_bad_counts_are_refused_naming_the_flag(intra, inter, flag):
    with pytest.raises(ValueError, match=f"{flag} must be an integer >= 0"):
        distribute.configure_threads(intra, inter)


def test_defaults_set_nothing_even_after_tensorflow_started():
    tf.constant(1.0) + 1.0  # this process's TensorFlow has started
    assert distribute.configure_threads(0, 0) is None


def test_other_pools_after_tensorflow_started_are_refused():
    tf.constant(1.0) + 1.0
    current = tf.config.threading.get_intra_op_parallelism_threads()
    with pytest.raises(ValueError, match="TensorFlow has already started"):
        distribute.configure_threads(current + 3, 0)


def test_pools_are_set_in_a_fresh_process():
    code = ("from tfgan_pipeline import distribute\n"
            "print(distribute.configure_threads(1, 2))\n"
            "import tensorflow as tf\n"
            "assert float(tf.reduce_sum(tf.ones(3))) == 3.0\n"
            "t = tf.config.threading\n"
            "print(t.get_intra_op_parallelism_threads(), t.get_inter_op_parallelism_threads())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["(1, 2)", "1 2"]
