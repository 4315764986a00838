"""MatmulGradConv2D(Transpose): Keras' values, with the im2col + matmul weight gradient
and, for small layers, as dense matmuls."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.networks import conv as conv_lib
from tfgan_pipeline.networks import patchgan_discriminator, unet_generator
from tfgan_pipeline.networks.conv import (MatmulGradConv2D, MatmulGradConv2DTranspose,
                                          filter_grad, tap_matrix)

CASES = [  # (our layer, Keras' layer, input shape, layer arguments)
    (MatmulGradConv2D, keras.layers.Conv2D, (1, 8, 8, 5), dict(strides=2, padding="same")),
    (MatmulGradConv2D, keras.layers.Conv2D, (2, 9, 7, 3), dict(strides=2, padding="same")),
    (MatmulGradConv2D, keras.layers.Conv2D, (2, 9, 9, 4),
     dict(strides=1, padding="valid", use_bias=True)),
    (MatmulGradConv2DTranspose, keras.layers.Conv2DTranspose, (1, 4, 4, 6),
     dict(strides=2, padding="same")),
    (MatmulGradConv2DTranspose, keras.layers.Conv2DTranspose, (2, 3, 5, 4),
     dict(strides=2, padding="same", use_bias=True)),
    (MatmulGradConv2DTranspose, keras.layers.Conv2DTranspose, (1, 3, 3, 5),
     dict(strides=2, padding="valid", use_bias=True, activation="relu")),
]


#: TensorFlow's convolution ops: none of them may run on the dense path.
CONV_OPS = {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "ExtractImagePatches"}


def _pair(ours, theirs, shape, dtype=None, dense_max_positions=0, **kwargs):
    """Our layer and Keras' with the same random weights (the dense path off unless
    ``dense_max_positions`` says otherwise)."""
    a = ours(7, 4, use_bias=kwargs.pop("use_bias", False), dtype=dtype,
             dense_max_positions=dense_max_positions, **kwargs)
    b = theirs(7, 4, use_bias=a.use_bias, dtype=dtype, **kwargs)
    a.build(shape)
    b.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 1, w.shape).astype("float32") for w in b.get_weights()]
    a.set_weights(weights)
    b.set_weights(weights)
    return a, b


def _step(layer, x, w):
    """Output and gradients (input, then every weight) of ``sum(layer(x) * w)``, traced."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * w)
        return [y] + tape.gradient(loss, [x] + layer.trainable_weights)

    ops = {op.type for op in step.get_concrete_function(x).graph.get_operations()}
    return [t.numpy().astype("float32") for t in step(x)], ops


def _assert_keras_values(ours, theirs, shape, seed):
    """Our layer's output and gradients (input, every weight) equal Keras' on random data;
    returns the op types of both traced steps and the input."""
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(0, 1, shape).astype("float32"))
    w = tf.constant(rng.normal(0, 1, theirs.compute_output_shape(shape)).astype("float32"))
    got, ops = _step(ours, x, w)
    want, keras_ops = _step(theirs, x, w)
    assert len(got) == len(want) == 2 + ours.use_bias + 1
    for g, k in zip(got, want):
        np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)
    return ops, keras_ops, x


@pytest.mark.parametrize("ours,theirs,shape,kwargs", CASES)
def test_matmul_path_gives_keras_outputs_and_gradients(ours, theirs, shape, kwargs):
    a, b = _pair(ours, theirs, shape, **kwargs)
    ops, keras_ops, _ = _assert_keras_values(a, b, shape, 1)
    assert "ExtractImagePatches" in ops and "ExtractImagePatches" not in keras_ops


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[1], CASES[4]])
def test_above_the_threshold_or_with_unknown_batch_tensorflows_gradient_runs(
        ours, theirs, shape, kwargs):
    a, b = _pair(ours, theirs, shape, **kwargs)
    a.matmul_grad_max_positions = 1
    x = tf.constant(np.random.default_rng(2).normal(0, 1, shape).astype("float32"))
    w = tf.ones(b.compute_output_shape(shape))
    got, ops = _step(a, x, w)
    assert "ExtractImagePatches" not in ops
    for g, k in zip(got, _step(b, x, w)[0]):
        np.testing.assert_allclose(g, k, rtol=1e-5, atol=1e-5)
    a.matmul_grad_max_positions = 10 ** 6
    unknown = tf.function(lambda t: a(t)).get_concrete_function(
        tf.TensorSpec((None,) + shape[1:], tf.float32))
    assert "ExtractImagePatches" not in {op.type for op in unknown.graph.get_operations()}


@pytest.mark.parametrize("strides,padding,in_hw", [(2, "SAME", (8, 8)), (2, "SAME", (7, 9)),
                                                    (1, "VALID", (6, 5)), (2, "VALID", (9, 9))])
def test_filter_grad_is_tensorflows_conv2d_backprop_filter(strides, padding, in_hw):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(0, 1, (2, *in_hw, 3)).astype("float32"))
    kernel_shape = [4, 4, 3, 5]
    y_shape = tf.nn.conv2d(x, tf.zeros(kernel_shape), strides, padding).shape
    dy = tf.constant(rng.normal(0, 1, y_shape).astype("float32"))
    want = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=kernel_shape, out_backprop=dy,
                                           strides=[1, strides, strides, 1], padding=padding)
    got = filter_grad(x, dy, kernel_shape, [strides, strides], padding)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[0], CASES[3]])
def test_bfloat16_policy_keeps_the_compute_dtype_and_keras_gradients(ours, theirs, shape,
                                                                      kwargs):
    a, b = _pair(ours, theirs, shape, dtype="mixed_bfloat16", **kwargs)
    x = tf.constant(np.random.default_rng(4).normal(0, 1, shape).astype("float32"))
    w = tf.ones(b.compute_output_shape(shape))
    got, ops = _step(a, x, w)
    want, _ = _step(b, x, w)
    assert "ExtractImagePatches" in ops
    assert a(x).dtype == tf.bfloat16 and a.kernel.dtype == "float32"
    for g, k in zip(got, want):  # bf16 rounding of a 16-64 term sum
        np.testing.assert_allclose(g, k, rtol=3e-2, atol=0.1 * np.abs(k).max())


@pytest.mark.parametrize("dense", [0, 64], ids=["matmul_grad", "dense"])
def test_two_replicas_give_the_single_device_gradient(mirrored_strategy, dense):
    shape = (2, 4, 4, 3)
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, shape).astype("float32")
    with mirrored_strategy.scope():
        layer = MatmulGradConv2DTranspose(6, 4, strides=2, padding="same",
                                          dense_max_positions=dense)
        layer.build(shape)
    single = MatmulGradConv2DTranspose(6, 4, strides=2, padding="same",
                                       dense_max_positions=dense)
    single.build(shape)
    single.set_weights(layer.get_weights())

    def grads(lay, batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(lay(batch)))
        return tape.gradient(loss, lay.kernel)

    dist = mirrored_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(2))
    per_replica = tf.function(lambda b: mirrored_strategy.run(lambda t: grads(layer, t),
                                                              args=(b,)))(next(iter(dist)))
    summed = mirrored_strategy.reduce("SUM", per_replica, axis=None)
    np.testing.assert_allclose(summed.numpy(), grads(single, tf.constant(x)).numpy(),
                               rtol=1e-4, atol=1e-4)


def test_config_round_trip_bad_threshold_and_the_pix2pix_networks_use_them():
    layer = MatmulGradConv2DTranspose(3, 4, strides=2, padding="same", name="up",
                                      matmul_grad_max_positions=64)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is MatmulGradConv2DTranspose
    assert (clone.filters, clone.matmul_grad_max_positions) == (3, 64)
    assert clone.dense_max_positions == conv_lib.DEFAULT_DENSE_MAX_POSITIONS
    for bad in (-1, 2.5, "256", True):
        with pytest.raises(ValueError, match="matmul_grad_max_positions"):
            MatmulGradConv2D(3, 4, matmul_grad_max_positions=bad)
        with pytest.raises(ValueError, match="dense_max_positions"):
            MatmulGradConv2DTranspose(3, 4, dense_max_positions=bad)
    unet = unet_generator(32, base_filters=4)
    convs = [l for l in unet.layers if isinstance(l, keras.layers.Conv2D)]
    tconvs = [l for l in unet.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert convs and all(type(l) is MatmulGradConv2D for l in convs)
    assert tconvs and all(type(l) is MatmulGradConv2DTranspose for l in tconvs)
    disc = patchgan_discriminator(32, base_filters=4)
    assert all(type(l) is MatmulGradConv2D for l in disc.layers
               if isinstance(l, keras.layers.Conv2D))


def _assert_same_penalty_gradients(ours, theirs, x):
    """The weight gradients of a gradient penalty (second order) through both layers agree."""

    def penalty_grad(layer):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                score = tf.reduce_sum(tf.tanh(layer(x)))
            penalty = tf.reduce_sum(tf.square(inner.gradient(score, x)))
        return outer.gradient(penalty, layer.trainable_weights)

    for g, k in zip(tf.function(penalty_grad)(ours), tf.function(penalty_grad)(theirs)):
        # float32 rounding of sums that reach ~35
        np.testing.assert_allclose(g.numpy(), k.numpy(), rtol=1e-4,
                                   atol=1e-4 + 1e-5 * np.abs(k.numpy()).max())


@pytest.mark.parametrize("dense", [0, 10 ** 4], ids=["matmul_grad", "dense"])
@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[1], CASES[4]])
def test_second_order_gradients_as_for_a_gradient_penalty_equal_keras(ours, theirs, shape,
                                                                     kwargs, dense):
    a, b = _pair(ours, theirs, shape, dense_max_positions=dense, **kwargs)
    x = tf.constant(np.random.default_rng(6).normal(0, 1, shape).astype("float32"))
    _assert_same_penalty_gradients(a, b, x)


@pytest.mark.parametrize("in_hw,strides,padding", [((8, 8), 2, "SAME"), ((7, 9), 2, "SAME"),
                                                    ((6, 5), 1, "VALID"), ((9, 9), 2, "VALID"),
                                                    ((5, 6), 1, "SAME"), ((1, 1), 2, "SAME")])
def test_tap_matrix_gathers_what_extract_patches_gathers(in_hw, strides, padding):
    x = np.random.default_rng(7).normal(0, 1, (1, *in_hw, 3)).astype("float32")
    want = tf.image.extract_patches(x, [1, 4, 4, 1], [1, strides, strides, 1], [1, 1, 1, 1],
                                    padding).numpy()
    taps, out_hw = tap_matrix(in_hw, (4, 4), (strides, strides), padding)
    assert out_hw == want.shape[1:3]
    assert set(np.unique(taps)) <= {0.0, 1.0} and (taps.sum(axis=1) <= 1).all()
    got = (taps @ x.reshape(-1, 3)).reshape(want.shape)  # rows (position, i, j), then channel
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("ours,theirs,shape,kwargs", CASES)
def test_dense_path_gives_keras_outputs_and_gradients_without_conv_ops(ours, theirs, shape,
                                                                      kwargs):
    a, b = _pair(ours, theirs, shape, dense_max_positions=10 ** 4, **kwargs)
    ops, keras_ops, _ = _assert_keras_values(a, b, shape, 8)
    assert not ops & CONV_OPS and "BatchMatMulV2" in ops and keras_ops & CONV_OPS


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[1], CASES[4]])
def test_dense_path_only_at_or_below_its_threshold_and_for_a_known_batch(ours, theirs, shape,
                                                                        kwargs):
    a, b = _pair(ours, theirs, shape, **kwargs)
    x = tf.constant(np.random.default_rng(9).normal(0, 1, shape).astype("float32"))
    w = tf.ones(b.compute_output_shape(shape))
    low = (shape[0] * int(np.prod(b.compute_output_shape(shape)[1:3])) if ours is MatmulGradConv2D
           else int(np.prod(shape[:3])))
    for threshold, dense in ((low, True), (low - 1, False)):
        a.dense_max_positions = threshold
        got, ops = _step(a, x, w)
        assert (not ops & CONV_OPS) is dense, threshold
        for g, k in zip(got, _step(b, x, w)[0]):
            np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)
    a.dense_max_positions = 10 ** 6
    unknown = tf.function(lambda t: a(t)).get_concrete_function(
        tf.TensorSpec((None,) + shape[1:], tf.float32))
    assert {op.type for op in unknown.graph.get_operations()} & CONV_OPS


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[0], CASES[3]])
def test_dense_path_falls_back_when_the_tap_matrix_would_be_too_large(ours, theirs, shape,
                                                                     kwargs, monkeypatch):
    a, b = _pair(ours, theirs, shape, dense_max_positions=10 ** 4, **kwargs)
    monkeypatch.setattr(conv_lib, "MAX_TAP_ENTRIES", 10)
    x = tf.constant(np.random.default_rng(10).normal(0, 1, shape).astype("float32"))
    w = tf.ones(b.compute_output_shape(shape))
    got, ops = _step(a, x, w)
    assert ops & CONV_OPS
    for g, k in zip(got, _step(b, x, w)[0]):
        np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[0], CASES[3]])
def test_dense_path_under_bfloat16_keeps_the_compute_dtype_and_keras_gradients(
        ours, theirs, shape, kwargs):
    a, b = _pair(ours, theirs, shape, dtype="mixed_bfloat16", dense_max_positions=64, **kwargs)
    x = tf.constant(np.random.default_rng(11).normal(0, 1, shape).astype("float32"))
    w = tf.ones(b.compute_output_shape(shape))
    got, ops = _step(a, x, w)
    want, _ = _step(b, x, w)
    assert not ops & CONV_OPS
    assert a(x).dtype == tf.bfloat16 and a.kernel.dtype == "float32"
    for g, k in zip(got, want):  # bf16 rounding of a 16-64 term sum
        np.testing.assert_allclose(g, k, rtol=3e-2, atol=0.1 * np.abs(k).max())


LAYER_NAME = re.compile(r"((?:enc|dec)_conv_\d+|out_conv)")


def test_the_unet_runs_its_innermost_layers_dense_at_batch_one():
    unet = unet_generator(64, base_filters=4)
    step = tf.function(lambda t: unet(t, training=True))
    graph = step.get_concrete_function(tf.TensorSpec((1, 64, 64, 3), tf.float32)).graph
    ops = [op for op in graph.get_operations() if op.type in CONV_OPS | {"BatchMatMulV2"}]
    by_layer = {}
    for op in ops:
        layer = next(m.group(1) for m in map(LAYER_NAME.match, op.name.split("/")) if m)
        by_layer.setdefault(layer, set()).add(op.type)
    # 64 px: encoder outputs 32, 16, 8, 4, 2, 1; decoder inputs 1, 2, 4, 8, 16, 32.
    dense = {name for name, types in by_layer.items() if types == {"BatchMatMulV2"}}
    assert dense == {"enc_conv_2", "enc_conv_3", "enc_conv_4", "enc_conv_5",
                     "dec_conv_0", "dec_conv_1", "dec_conv_2", "dec_conv_3"}, by_layer


def test_dense_transpose_refuses_an_output_size_its_convolution_does_not_map_back():
    x, kernel = tf.zeros((1, 3, 3, 2)), tf.zeros((4, 4, 5, 2))
    assert conv_lib.dense_conv2d_transpose(x, kernel, (7, 7), (2, 2), "SAME") is None  # -> 4x4
    assert conv_lib.dense_conv2d_transpose(x, kernel, (6, 6), (2, 2), "SAME").shape == (1, 6, 6, 5)


def _forward_conv_batches(layer, shape, dtype=tf.float32):
    """Batch sizes of the forward ``Conv2D`` ops (outside the gradient) of ``layer`` traced
    on ``shape``."""
    graph = tf.function(lambda t: layer(t)).get_concrete_function(
        tf.TensorSpec(shape, dtype)).graph
    return sorted(op.inputs[0].shape[0] for op in graph.get_operations()
                  if op.type == "Conv2D" and "gradient" not in op.name.lower())


@pytest.mark.parametrize("rows", [20, 19])  # 17 (odd) and 16 (even) output rows
def test_band_conv2d_is_tensorflows_convolution(rows):
    rng = np.random.default_rng(12)
    x = tf.constant(rng.normal(0, 1, (1, rows, 18, 5)).astype("float32"))
    kernel = tf.constant(rng.normal(0, 1, (4, 4, 5, 6)).astype("float32"))
    want = tf.nn.conv2d(x, kernel, 1, "VALID")
    got = conv_lib.band_conv2d(x, kernel)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-5)


def _conv_pair(shape, filters, strides=1, padding="valid", dtype=None, **kwargs):
    """Our layer (``kwargs`` its extra arguments) and Keras' own, built on ``shape`` with
    the same random weights."""
    a = MatmulGradConv2D(filters, 4, strides=strides, padding=padding, dtype=dtype, **kwargs)
    b = keras.layers.Conv2D(filters, 4, strides=strides, padding=padding, dtype=dtype)
    a.build(shape)
    b.build(shape)
    weights = [np.random.default_rng(13).normal(0, 1, w.shape).astype("float32")
               for w in b.get_weights()]
    a.set_weights(weights)
    b.set_weights(weights)
    return a, b


def _assert_switch_round_trips_and_refuses(name, bad_values):
    """A True/False/"auto" layer argument survives serialisation and refuses other values
    with an error naming it."""
    for value in (False, True, "auto"):
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
            MatmulGradConv2D(6, 4, **{name: value})))
        assert getattr(clone, name) == value and type(getattr(clone, name)) is type(value)
    for bad in bad_values:
        with pytest.raises(ValueError, match=name):
            MatmulGradConv2D(6, 4, **{name: bad})


def _band_pair(**kwargs):
    return _conv_pair((1, 20, 20, 3), 64, **kwargs)


def test_band_forward_runs_for_a_float32_batch_one_stride_one_layer_with_keras_gradients():
    a, b = _band_pair(band_forward=True)
    shape = (1, 20, 20, 3)
    assert _forward_conv_batches(a, shape) == [2] and _forward_conv_batches(b, shape) == [1]
    rng = np.random.default_rng(14)
    x = tf.constant(rng.normal(0, 1, shape).astype("float32"))
    w = tf.constant(rng.normal(0, 1, (1, 17, 17, 64)).astype("float32"))
    got, _ = _step(a, x, w)
    want, _ = _step(b, x, w)
    for g, k in zip(got, want):
        np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)


def test_band_forward_only_where_it_was_measured_to_pay():
    a, _ = _band_pair(band_forward=False)
    assert _forward_conv_batches(a, (1, 20, 20, 3)) == [1]
    a, _ = _band_pair(band_forward=True)
    assert _forward_conv_batches(a, (2, 20, 20, 3)) == [2]       # batch 2: one call as is
    assert _forward_conv_batches(a, (1, 18, 18, 3)) == [1]       # 15 output rows
    a, _ = _band_pair(dtype="mixed_bfloat16", band_forward=True)
    assert _forward_conv_batches(a, (1, 20, 20, 3)) == [1]       # bf16: no gain measured
    narrow = MatmulGradConv2D(63, 4, padding="valid", band_forward=True)
    assert _forward_conv_batches(narrow, (1, 20, 20, 3)) == [1]  # < 64 output channels
    strided = MatmulGradConv2D(64, 4, strides=2, padding="valid", band_forward=True)
    assert _forward_conv_batches(strided, (1, 40, 40, 3)) == [1]
    _assert_switch_round_trips_and_refuses("band_forward", (0, "yes", None))


def test_band_forward_second_order_gradients_equal_keras():
    a, b = _band_pair(band_forward=True)
    x = tf.constant(np.random.default_rng(15).normal(0, 1, (1, 20, 20, 3)).astype("float32"))
    _assert_same_penalty_gradients(a, b, x)


def test_band_forward_auto_follows_the_measured_probe(monkeypatch):
    for verdict, batches in ((True, [2]), (False, [1])):
        calls = []
        monkeypatch.setattr(conv_lib, "measured_faster",
                            lambda *key, v=verdict: calls.append(key) or v)
        a, _ = _band_pair(band_forward="auto", conv_input_grad=False)
        assert _forward_conv_batches(a, (1, 20, 20, 3)) == batches
        assert calls and all(key == ("band_forward", (1, 20, 20, 3), (4, 4, 3, 64), "float32")
                             for key in calls)
    a, _ = _band_pair()
    assert a.band_forward == "auto" and a.conv_input_grad == "auto"  # the defaults


@pytest.mark.parametrize("x_shape,k_shape", [
    ((1, 9, 9, 3), (4, 4, 3, 5)),      # the PatchGAN's 4x4 kernel
    ((2, 7, 8, 4), (3, 2, 4, 6)),      # batch 2, rectangular image and kernel
    ((1, 6, 6, 8), (4, 4, 8, 1)),      # one output channel (the logits layer)
    ((1, 4, 4, 2), (4, 4, 2, 3)),      # 1x1 output
])
def test_input_grad_by_conv_is_tensorflows_input_gradient(x_shape, k_shape):
    rng = np.random.default_rng(21)
    kernel = tf.constant(rng.normal(0, 1, k_shape).astype("float32"))
    y_shape = tf.nn.conv2d(tf.zeros(x_shape), kernel, 1, "VALID").shape
    dy = tf.constant(rng.normal(0, 1, y_shape).astype("float32"))
    want = tf.raw_ops.Conv2DBackpropInput(input_sizes=x_shape, filter=kernel, out_backprop=dy,
                                          strides=[1, 1, 1, 1], padding="VALID")
    got = conv_lib.input_grad_by_conv(dy, kernel)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def _input_grad_pair(filters=6, **kwargs):
    return _conv_pair((1, 12, 12, 3), filters, band_forward=False, matmul_grad_max_positions=0,
                      dense_max_positions=0, tap_weight_grad=False, **kwargs)


def test_conv_input_grad_runs_as_a_forward_conv_with_keras_gradients():
    a, b = _input_grad_pair(conv_input_grad=True)
    rng = np.random.default_rng(23)
    x = tf.constant(rng.normal(0, 1, (1, 12, 12, 3)).astype("float32"))
    w = tf.constant(rng.normal(0, 1, (1, 9, 9, 6)).astype("float32"))
    got, ops = _step(a, x, w)
    want, keras_ops = _step(b, x, w)
    assert "Conv2DBackpropInput" not in ops and "Conv2DBackpropInput" in keras_ops
    assert "Conv2DBackpropFilter" in ops
    for g, k in zip(got, want):
        np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)
    _assert_same_penalty_gradients(a, b, x)


def test_conv_input_grad_by_conv_where_the_kernel_fits_the_strides(monkeypatch):
    rng = np.random.default_rng(24)
    x = tf.constant(rng.normal(0, 1, (1, 12, 12, 3)).astype("float32"))
    for kwargs, out_hw in (({"strides": 2}, 5), ({"padding": "same"}, 12),
                           ({"strides": 2, "padding": "same"}, 6)):
        a, b = _input_grad_pair(conv_input_grad=True, **kwargs)
        w = tf.constant(rng.normal(0, 1, (1, out_hw, out_hw, 6)).astype("float32"))
        got, ops = _step(a, x, w)
        assert "Conv2DBackpropInput" not in ops, kwargs
        for g, k in zip(got, _step(b, x, w)[0]):
            np.testing.assert_allclose(g, k, rtol=1e-4, atol=1e-4)
    odd = MatmulGradConv2D(6, 3, strides=2, matmul_grad_max_positions=0, dense_max_positions=0,
                           conv_input_grad=True)  # a 3x3 kernel does not fit stride 2
    assert "Conv2DBackpropInput" in _step(odd, x, tf.ones((1, 5, 5, 6)))[1]
    a, _ = _input_grad_pair(conv_input_grad=False)
    assert "Conv2DBackpropInput" in _step(a, x, tf.ones((1, 9, 9, 6)))[1]
    calls = []
    for verdict, present in ((True, False), (False, True)):
        monkeypatch.setattr(conv_lib, "measured_faster",
                            lambda *key, v=verdict: calls.append(key) or v)
        a, _ = _input_grad_pair(strides=2)  # "auto"
        assert ("Conv2DBackpropInput" in _step(a, x, tf.ones((1, 5, 5, 6)))[1]) is present
    assert set(calls) == {("conv_input_grad", (1, 12, 12, 3), (4, 4, 3, 6), "float32", (2, 2),
                           "VALID")}
    calls.clear()  # a forward-only trace of a convolution never runs the probe
    tf.function(lambda t: a(t)).get_concrete_function(tf.TensorSpec((1, 12, 12, 3)))
    assert calls == []
    _assert_switch_round_trips_and_refuses("conv_input_grad", (1, "no", None))


def _conv_case(seed, batch, in_hw, kernel, strides, padding, c_out):
    """Random input (3 channels), square kernel and output gradient of one convolution."""
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(0, 1, (batch, *in_hw, 3)).astype("float32"))
    w = tf.constant(rng.normal(0, 1, (kernel, kernel, 3, c_out)).astype("float32"))
    y_shape = tf.nn.conv2d(x, w, strides, padding).shape
    return x, w, tf.constant(rng.normal(0, 1, y_shape).astype("float32"))


@pytest.mark.parametrize("batch,in_hw,kernel,strides,padding", [
    (1, (8, 8), 4, 2, "SAME"),     # the U-Net's encoder; its decoder's forward
    (2, (9, 7), 4, 2, "SAME"),     # odd sizes
    (1, (11, 13), 4, 2, "VALID"),  # the last rows and columns are read by no window
    (1, (6, 7), 2, 1, "SAME"),     # stride 1, SAME
    (1, (12, 12), 6, 3, "SAME"),   # stride 3
])
def test_strided_input_grad_by_conv_is_tensorflows_input_gradient(batch, in_hw, kernel,
                                                                  strides, padding):
    x, w, dy = _conv_case(25, batch, in_hw, kernel, strides, padding, 5)
    want = tf.raw_ops.Conv2DBackpropInput(input_sizes=x.shape, filter=w, out_backprop=dy,
                                          strides=[1, strides, strides, 1], padding=padding)
    got = conv_lib.strided_input_grad_by_conv(dy, w, in_hw, [strides, strides], padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ours,theirs,shape,kwargs", CASES[3:])
def test_transposed_layer_forward_by_conv_gives_keras_outputs_and_gradients(ours, theirs, shape,
                                                                           kwargs):
    a, b = _pair(ours, theirs, shape, **kwargs)
    a.matmul_grad_max_positions, a.tap_weight_grad, a.conv_input_grad = 0, False, True
    ops, keras_ops, x = _assert_keras_values(a, b, shape, 26)
    assert "Conv2DBackpropInput" in keras_ops and "Conv2DBackpropInput" not in ops
    _assert_same_penalty_gradients(a, b, x)


def test_transposed_layer_asks_the_probe_about_the_convolution_it_transposes(monkeypatch):
    for verdict, present in ((True, False), (False, True)):
        calls = []
        monkeypatch.setattr(conv_lib, "measured_faster",
                            lambda *key, v=verdict: calls.append(key) or v)
        a, _ = _pair(*CASES[4][:3], **CASES[4][3])  # 3x5 -> 6x10, "auto"
        ops = _step(a, tf.zeros(CASES[4][2]), tf.ones((2, 6, 10, 7)))[1]
        assert ("Conv2DBackpropInput" in ops) is present
        assert ("conv_input_grad", (2, 6, 10, 7), (4, 4, 7, 4), "float32", (2, 2),
                "SAME") in calls
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        MatmulGradConv2DTranspose(3, 4, strides=2, conv_input_grad=True)))
    assert clone.conv_input_grad is True


def test_measured_faster_takes_a_path_only_past_the_margin(monkeypatch, caplog):
    conv_lib.measured_faster.cache_clear()
    timings = {}
    ours_fns = (conv_lib.band_conv2d, conv_lib.strided_input_grad_by_conv,
                conv_lib.filter_grad_by_taps)

    def fake_best_times(calls):  # the probe times tf.function graphs of the candidates
        fns = [getattr(fn, "python_function", fn) for fn, _ in calls]
        return tuple(timings["ours" if getattr(fn, "func", fn) in ours_fns else "tf"]
                     for fn in fns)

    monkeypatch.setattr(conv_lib.probe, "best_times", fake_best_times)
    key = ((1, 20, 20, 3), (4, 4, 3, 64), "float32")
    try:
        for ours, taken in ((0.89, True), (0.91, False)):
            conv_lib.measured_faster.cache_clear()
            timings.update(ours=ours, tf=1.0)
            for kind in ("band_forward", "conv_input_grad", "tap_weight_grad"):
                assert conv_lib.measured_faster(kind, *key) is taken
            for kind in ("conv_input_grad", "tap_weight_grad"):
                assert conv_lib.measured_faster(kind, *key, (2, 2), "SAME") is taken
        timings.update(ours=0.1)
        assert conv_lib.measured_faster("band_forward", *key) is False  # cached per process
        with pytest.raises(ValueError, match="unknown measured path"):
            conv_lib.measured_faster("nope", *key)
    finally:
        conv_lib.measured_faster.cache_clear()
    monkeypatch.undo()
    with caplog.at_level("INFO", logger="tfgan_pipeline"):
        verdict = conv_lib.measured_faster("conv_input_grad", (1, 9, 9, 3), (4, 4, 3, 5),
                                           "bfloat16")
    assert isinstance(verdict, bool)
    assert re.search(r"conv_input_grad for input \(1, 9, 9, 3\).*bfloat16: [0-9.]+ ms vs "
                     r"TF's [0-9.]+ ms -> (taken|TF's op)", caplog.text)
    conv_lib.measured_faster.cache_clear()


@pytest.mark.parametrize("batch,in_hw,kernel,strides,padding,c_out", [
    (1, (8, 8), 4, 2, "SAME", 5),     # the U-Net's / PatchGAN's strided layers
    (2, (9, 7), 4, 2, "SAME", 5),     # odd sizes: TF puts the odd padding pixel at the end
    (1, (11, 13), 4, 2, "VALID", 5),  # rows past the last window are not read
    (2, (9, 8), 4, 1, "VALID", 5),    # the PatchGAN's stride-1 layers
    (1, (6, 7), 2, 1, "SAME", 5),     # even kernel, stride 1, SAME
    (1, (12, 12), 6, 3, "SAME", 5),   # stride 3
    (2, (9, 7), 4, 2, "SAME", 13),    # more output channels than space_to_depth's 12
    (1, (9, 8), 4, 1, "VALID", 2),    # fewer output channels than input ones
])
def test_filter_grad_by_taps_is_tensorflows_conv2d_backprop_filter(batch, in_hw, kernel,
                                                                   strides, padding, c_out):
    x, w, dy = _conv_case(31, batch, in_hw, kernel, strides, padding, c_out)
    kernel_shape = list(w.shape)
    want = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=kernel_shape, out_backprop=dy,
                                           strides=[1, strides, strides, 1], padding=padding)
    got = conv_lib.filter_grad_by_taps(x, dy, kernel_shape, [strides, strides], padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def _tap_pair(ours, theirs, shape, kwargs, **switches):
    """Our layer with the im2col weight gradient off (so only the tap form can replace
    TensorFlow's), and Keras' own."""
    a, b = _pair(ours, theirs, shape, **kwargs)
    a.matmul_grad_max_positions = 0
    for name, value in switches.items():
        setattr(a, name, value)
    return a, b





@pytest.mark.parametrize("ours,theirs,shape,kwargs", CASES)
def test_tap_weight_grad_gives_keras_gradients_without_the_filter_op(ours, theirs, shape,
                                                                     kwargs):
    a, b = _tap_pair(ours, theirs, shape, kwargs, tap_weight_grad=True)
    ops, keras_ops, _ = _assert_keras_values(a, b, shape, 32)
    assert "Conv2DBackpropFilter" in keras_ops
    assert not ops & {"Conv2DBackpropFilter", "ExtractImagePatches"}


@pytest.mark.parametrize("ours,theirs,shape,kwargs", [CASES[1], CASES[4]])
def test_tap_weight_grad_second_order_gradients_equal_keras(ours, theirs, shape, kwargs):
    a, b = _tap_pair(ours, theirs, shape, kwargs, tap_weight_grad=True)
    x = tf.constant(np.random.default_rng(33).normal(0, 1, shape).astype("float32"))
    _assert_same_penalty_gradients(a, b, x)


def _filter_op_in_gradient(layer, shape):
    x, w = tf.zeros(shape), tf.ones(layer.compute_output_shape(shape))
    return "Conv2DBackpropFilter" in _step(layer, x, w)[1]


def test_tap_weight_grad_only_where_it_applies_and_auto_asks_the_probe_when_training(
        monkeypatch):
    calls = []
    for verdict, filter_op in ((True, False), (False, True)):
        monkeypatch.setattr(conv_lib, "measured_faster",
                            lambda *key, v=verdict: calls.append(key) or v)
        a, _ = _tap_pair(*CASES[1][:3], CASES[1][3])  # "auto", the default
        assert a.tap_weight_grad == "auto"
        assert _filter_op_in_gradient(a, CASES[1][2]) is filter_op
    taps = lambda: {key for key in calls if key[0] == "tap_weight_grad"}  # noqa: E731
    assert taps() == {("tap_weight_grad", (2, 9, 7, 3), (4, 4, 3, 7), "float32", (2, 2),
                           "SAME")}
    # The transposed layer asks about the convolution it transposes (6x10 -> 3x5).
    calls.clear()
    t, _ = _tap_pair(*CASES[4][:3], CASES[4][3])
    assert _filter_op_in_gradient(t, CASES[4][2]) is True
    assert taps() == {("tap_weight_grad", (2, 6, 10, 7), (4, 4, 7, 4), "float32", (2, 2),
                           "SAME")}
    # A forward-only trace (inference, export) never runs the probe.
    calls.clear()
    tf.function(lambda t: a(t)).get_concrete_function(tf.TensorSpec(CASES[1][2], tf.float32))
    assert calls == []
    monkeypatch.setattr(conv_lib, "measured_faster", lambda *key: True)
    a, _ = _tap_pair(*CASES[1][:3], CASES[1][3], tap_weight_grad=False)
    assert _filter_op_in_gradient(a, CASES[1][2])
    odd = MatmulGradConv2D(5, 3, strides=2, padding="same", matmul_grad_max_positions=0,
                           dense_max_positions=0,
                           tap_weight_grad=True)  # 3x3 kernel, stride 2: not a multiple
    assert _filter_op_in_gradient(odd, (1, 8, 8, 3))
    _assert_switch_round_trips_and_refuses("tap_weight_grad", (1, "on", None))
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        MatmulGradConv2DTranspose(3, 4, strides=2, tap_weight_grad=False)))
    assert clone.tap_weight_grad is False
    with pytest.raises(ValueError, match="tap_weight_grad"):
        MatmulGradConv2DTranspose(3, 4, tap_weight_grad="yes")


def test_space_to_depth_paths_refuse_a_kernel_that_does_not_fit_the_strides():
    x, w, dy = _conv_case(34, 1, (8, 8), 3, 2, "SAME", 4)
    with pytest.raises(ValueError, match="kernel 3x3, strides 2x2"):
        conv_lib.filter_grad_by_taps(x, dy, list(w.shape), [2, 2], "SAME")
    with pytest.raises(ValueError, match="kernel 3x3, strides 2x2"):
        conv_lib.strided_input_grad_by_conv(dy, w, (8, 8), [2, 2], "SAME")
    x, w, dy = _conv_case(35, 1, (8, 8), 4, (2, 1), "SAME", 4)
    with pytest.raises(ValueError, match="strides 2x1"):
        conv_lib.filter_grad_by_taps(x, dy, list(w.shape), [2, 1], "SAME")
