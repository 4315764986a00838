"""FusedBatchNormalization: same values as Keras' BatchNormalization and as Alg. 1 by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.networks import patchgan_discriminator, unet_generator
from tfgan_pipeline.networks.batch_norm import FusedBatchNormalization

EPS, MOMENTUM = 1e-5, 0.9


def _pair(shape, synchronized=True, **kwargs):
    """A fused and a Keras layer with the same (non-trivial) weights."""
    layers = []
    for cls in (FusedBatchNormalization, keras.layers.BatchNormalization):
        layer = cls(momentum=MOMENTUM, epsilon=EPS, synchronized=synchronized, **kwargs)
        layer.build(shape)
        layers.append(layer)
    rng = np.random.default_rng(3)
    c = shape[-1]
    weights = [rng.normal(1, 0.3, c), rng.normal(0, 0.5, c), rng.normal(0, 1, c),
               rng.uniform(0.5, 2, c)]
    for layer in layers:
        layer.set_weights([w.astype("float32") for w in weights])
    return layers, weights


def _graph_op_types(fn, *args):
    return {op.type for op in tf.function(fn).get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (2, 3, 5, 4), (1, 2, 2, 2)])
def test_training_step_matches_hand_computed_alg1_and_moving_averages(shape):
    (fused, _), (gamma, beta, mm, mv) = _pair(shape)
    x = np.random.default_rng(0).normal(2, 3, shape).astype("float32")
    y = fused(x, training=True).numpy()
    mean = x.reshape(-1, shape[-1]).astype("float64").mean(0)
    var = x.reshape(-1, shape[-1]).astype("float64").var(0)  # biased, as Alg. 1
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + EPS) + beta,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean.numpy(), MOMENTUM * mm + (1 - MOMENTUM) * mean,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               MOMENTUM * mv + (1 - MOMENTUM) * var, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("synchronized", [True, False])
def test_outputs_gradients_and_statistics_equal_keras_batch_normalization(synchronized):
    shape = (1, 8, 8, 5)
    (fused, plain), _ = _pair(shape, synchronized)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(0, 2, shape).astype("float32"))
    w = tf.constant(rng.normal(0, 1, shape).astype("float32"))
    results = []
    for layer in (fused, plain):
        for _ in range(2):  # two steps: the moving averages compound
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(layer(x, training=True) * w)
            grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([layer(x, training=True).numpy()] + [g.numpy() for g in grads]
                       + [layer.moving_mean.numpy(), layer.moving_variance.numpy(),
                          layer(x, training=False).numpy()])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_training_uses_the_fused_kernel_and_inference_keeps_keras_ops():
    (fused, _), _ = _pair((1, 4, 4, 3))
    x = tf.zeros((1, 4, 4, 3))
    assert "FusedBatchNormV3" in _graph_op_types(lambda t: fused(t, training=True), x)
    assert "FusedBatchNormV3" not in _graph_op_types(lambda t: fused(t, training=False), x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fused(x, training=True)
    assert tape.gradient(y, x) is not None


def test_bfloat16_policy_normalises_in_float32_and_returns_the_compute_dtype():
    shape = (1, 4, 4, 3)
    x = np.random.default_rng(2).normal(0, 1, shape).astype("float32")
    outs = []
    for cls in (FusedBatchNormalization, keras.layers.BatchNormalization):
        layer = cls(momentum=MOMENTUM, epsilon=EPS, dtype="mixed_bfloat16")
        y = layer(tf.cast(x, tf.bfloat16), training=True)
        assert y.dtype == tf.bfloat16
        assert layer.moving_mean.dtype == "float32"
        outs.append((tf.cast(y, tf.float32).numpy(), layer.moving_variance.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=2e-2)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5)


def test_bfloat16_inputs_go_into_the_kernel_without_casts():
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    x = tf.ones((1, 4, 4, 3), tf.bfloat16)
    graph = tf.function(lambda t: layer(t, training=True)).get_concrete_function(x).graph
    kernels = [op for op in graph.get_operations() if op.type == "FusedBatchNormV3"]
    assert [op.get_attr("T") for op in kernels] == [tf.bfloat16]
    assert kernels[0].inputs[0].op.type != "Cast"
    assert [op.get_attr("U") for op in kernels] == [tf.float32]


def test_synchronised_layer_under_two_replicas_normalises_over_the_global_batch(
        mirrored_strategy):
    shape = (2, 3, 3, 4)
    x = np.random.default_rng(4).normal(1, 2, shape).astype("float32")
    with mirrored_strategy.scope():
        layer = FusedBatchNormalization(momentum=MOMENTUM, epsilon=EPS, synchronized=True)
        layer.build(shape)
    dist = mirrored_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(x).unbatch().batch(2))

    @tf.function
    def step(batch):
        return mirrored_strategy.run(lambda b: layer(b, training=True), args=(batch,))

    out = step(next(iter(dist)))
    y = np.concatenate([t.numpy() for t in mirrored_strategy.experimental_local_results(out)])
    flat = x.reshape(-1, 4)
    want = (x - flat.mean(0)) / np.sqrt(flat.var(0) + EPS)  # gamma 1, beta 0
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), (1 - MOMENTUM) * flat.mean(0),
                               rtol=1e-5, atol=1e-6)


def test_masked_and_renorm_layers_fall_back_to_keras():
    x = tf.ones((1, 2, 2, 3))
    layer = FusedBatchNormalization(renorm=True)
    assert "FusedBatchNormV3" not in _graph_op_types(lambda t: layer(t, training=True), x)
    layer3d = FusedBatchNormalization()
    y = layer3d(tf.ones((2, 5, 3)), training=True)
    assert y.shape == (2, 5, 3)


def test_config_round_trip_and_the_pix2pix_networks_use_it():
    layer = FusedBatchNormalization(momentum=MOMENTUM, epsilon=EPS, synchronized=True, name="bn")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is FusedBatchNormalization
    assert (clone.momentum, clone.epsilon, clone.synchronized) == (MOMENTUM, EPS, True)
    for model in (unet_generator(32, base_filters=4), patchgan_discriminator(32, base_filters=4)):
        bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
        assert bns and all(type(l) is FusedBatchNormalization for l in bns)
