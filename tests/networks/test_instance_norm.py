"""FusedInstanceNormalization: same values as Keras' GroupNormalization(groups=-1) and as
Ulyanov et al.'s Eq. 2 by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.networks import patchgan_discriminator, resnet_generator
from tfgan_pipeline.networks.instance_norm import FusedInstanceNormalization

EPS = 1e-5


def _pair(shape, **kwargs):
    """A fused and a Keras layer with the same (non-trivial) gamma and beta."""
    layers = []
    for cls in (FusedInstanceNormalization, keras.layers.GroupNormalization):
        layer = cls(groups=-1, epsilon=EPS, **kwargs)
        layer.build(shape)
        layers.append(layer)
    rng = np.random.default_rng(3)
    weights = [rng.normal(1, 0.3, shape[-1]), rng.normal(0, 0.5, shape[-1])]
    for layer in layers:
        layer.set_weights([w.astype("float32") for w in weights])
    return layers, weights


def _graph_op_types(fn, *args):
    return {op.type for op in tf.function(fn).get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (3, 5, 2, 4), (2, 1, 1, 2)])
def test_output_matches_hand_computed_instance_norm(shape):
    (fused, _), (gamma, beta) = _pair(shape)
    x = np.random.default_rng(0).normal(2, 3, shape).astype("float32")
    x[0] *= 10  # examples on other scales: statistics must not mix across the batch
    y = fused(x).numpy()
    x64 = x.astype("float64")
    mean = x64.mean(axis=(1, 2), keepdims=True)
    var = x64.var(axis=(1, 2), keepdims=True)  # biased, per example and channel
    np.testing.assert_allclose(y, gamma * (x64 - mean) / np.sqrt(var + EPS) + beta,
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 8, 8, 5), (3, 6, 4, 2)])
def test_outputs_and_gradients_equal_keras_group_normalization(shape):
    (fused, plain), _ = _pair(shape)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(0, 2, shape).astype("float32"))
    w = tf.constant(rng.normal(0, 1, shape).astype("float32"))
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * w)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([layer(x).numpy(), layer(x, training=True).numpy()]
                       + [g.numpy() for g in grads])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_uses_the_fused_kernel_and_other_groupings_keep_keras_ops():
    x = tf.zeros((1, 4, 4, 4))
    fused = FusedInstanceNormalization()
    assert "FusedBatchNormV3" in _graph_op_types(fused, x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fused(x)
    assert tape.gradient(y, x) is not None
    grouped = FusedInstanceNormalization(groups=2)  # two channels per group: not instance norm
    assert "FusedBatchNormV3" not in _graph_op_types(grouped, x)
    z = np.random.default_rng(5).normal(0, 1, (2, 3, 3, 4)).astype("float32")
    keras_grouped = keras.layers.GroupNormalization(groups=2)
    np.testing.assert_allclose(grouped(z).numpy(), keras_grouped(z).numpy(), rtol=1e-5, atol=1e-5)


def test_bfloat16_policy_normalises_in_float32_and_returns_the_compute_dtype():
    shape = (1, 4, 4, 3)
    x = np.random.default_rng(2).normal(0, 1, shape).astype("float32")
    outs = []
    for cls in (FusedInstanceNormalization, keras.layers.GroupNormalization):
        layer = cls(groups=-1, epsilon=EPS, dtype="mixed_bfloat16")
        y = layer(tf.cast(x, tf.bfloat16))
        assert y.dtype == tf.bfloat16 and layer.gamma.dtype == "float32"
        outs.append(tf.cast(y, tf.float32).numpy())
    np.testing.assert_allclose(outs[0], outs[1], atol=3e-2)


def test_under_two_replicas_each_example_keeps_its_own_statistics(mirrored_strategy):
    shape = (4, 3, 3, 2)
    x = np.random.default_rng(4).normal(1, 2, shape).astype("float32")
    x[1] += 50.0
    with mirrored_strategy.scope():
        layer = FusedInstanceNormalization(epsilon=EPS)
        layer.build(shape)
    dist = mirrored_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(x).unbatch().batch(4))

    @tf.function
    def step(batch):
        return mirrored_strategy.run(layer, args=(batch,))

    out = step(next(iter(dist)))
    y = np.concatenate([t.numpy() for t in mirrored_strategy.experimental_local_results(out)])
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + EPS), rtol=1e-4, atol=1e-4)


def test_config_round_trip_and_the_cyclegan_networks_use_it():
    layer = FusedInstanceNormalization(epsilon=EPS, name="in")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is FusedInstanceNormalization
    assert (clone.groups, clone.epsilon) == (-1, EPS)
    for model in (resnet_generator(32, base_filters=4),
                  patchgan_discriminator(32, base_filters=4, norm="instance")):
        norms = [l for l in model.layers if isinstance(l, keras.layers.GroupNormalization)]
        assert norms and all(type(l) is FusedInstanceNormalization for l in norms)
