"""Feature classifiers: building, training, saving, loading and feature extraction."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_pipeline.data.images import scale_to_unit_range
from tfgan_pipeline.data.mnist import load_mnist_idx
from tfgan_pipeline.evaluation import classifier as clf
from tfgan_pipeline.evaluation import metrics


def _images(n=6, size=28, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(
        np.float32)


@pytest.fixture(scope="module")
def small_classifier():
    keras.utils.set_random_seed(0)
    return clf.build_mnist_classifier(width=4)


def _reference(model, images):
    """Features and logits straight from the Keras layers."""
    both = keras.Model(model.inputs[0], [model.get_layer("features").output, model.output])
    features, logits = both(images, training=False)
    return np.asarray(features), np.asarray(logits)


# ------------------------------------------------------------------ building / training
def test_build_mnist_classifier_shapes():
    model = clf.build_mnist_classifier(image_size=32, channels=3, num_classes=5, width=8)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 5)
    assert model.layers[-2].name == clf.FEATURE_LAYER
    assert model.get_layer(clf.FEATURE_LAYER).output.shape == (None, 32)  # 4 * width
    with pytest.raises(ValueError, match="width must be a positive integer"):
        clf.build_mnist_classifier(width=0)


def test_train_classifier_learns_a_separable_problem():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    labels = np.arange(64) % 2
    # Class 0: bright left half; class 1: bright right half.
    images = np.full((64, 12, 12, 1), -1.0, np.float32)
    images[labels == 0, :, :6] = 1.0
    images[labels == 1, :, 6:] = 1.0
    images += rng.uniform(-0.1, 0.1, images.shape).astype(np.float32)
    images = np.clip(images, -1, 1)
    model = clf.train_classifier((images, labels), epochs=4, batch_size=16, num_classes=2,
                                 learning_rate=3e-3, seed=0)
    assert model.input_shape == (None, 12, 12, 1) and model.output_shape == (None, 2)
    assert len(model.history.history["loss"]) == 4
    _, logits = clf.compute_features(clf.load_feature_fn(model), images)
    assert metrics.label_accuracy(logits, labels).value == 1.0


def test_train_classifier_input_errors():
    with pytest.raises(ValueError, match="scaled to \\[-1, 1\\]"):
        clf.train_classifier((np.full((4, 8, 8), 255.0), np.zeros(4, np.int64)))
    forever = tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, 8, 8, 1), np.float32), np.zeros(4, np.int64))).batch(2).repeat()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        clf.train_classifier(forever)


# ------------------------------------------------------------------ extraction
def test_feature_extractor_on_a_keras_model(small_classifier):
    images = _images()
    extractor = clf.load_feature_fn(small_classifier)
    assert extractor.has_logits
    features, logits = extractor(images)
    ref_features, ref_logits = _reference(small_classifier, images)
    np.testing.assert_allclose(features, ref_features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-6)
    # [B, H, W] is read as grayscale.
    np.testing.assert_allclose(extractor(images[..., 0])[0], ref_features, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("suffix", ["model.keras", "saved_model"])
def test_save_and_load_round_trip(small_classifier, tmp_path, suffix):
    images = _images(seed=1)
    path = clf.save_classifier(small_classifier, str(tmp_path / "run" / suffix))
    assert os.path.exists(path)
    features, logits = clf.load_feature_fn(path)(images)
    ref_features, ref_logits = _reference(small_classifier, images)
    np.testing.assert_allclose(features, ref_features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-6)


def test_saved_model_signature_is_self_describing(small_classifier, tmp_path):
    path = clf.save_classifier(small_classifier, str(tmp_path / "sm"))
    signature = tf.saved_model.load(path).signatures[clf.SIGNATURE]
    assert sorted(signature.structured_outputs) == ["features", "logits"]
    (spec,) = signature.structured_input_signature[1].values()
    assert spec.shape.as_list() == [None, 28, 28, 1]


class _ProbeModule(tf.Module):
    """A foreign SavedModel: RGB 16x16 in [0, 1], outputs ``pool`` (input statistics)."""

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="x")])
    def probe(self, x):
        stats = tf.stack([tf.reduce_mean(x, [1, 2, 3]), tf.reduce_min(x, [1, 2, 3]),
                          tf.reduce_max(x, [1, 2, 3]), tf.cast(tf.shape(x)[1], tf.float32)
                          + 0.0 * x[:, 0, 0, 0]], axis=1)
        return {"pool": stats, "probs": tf.nn.softmax(stats)}


def test_foreign_saved_model_with_resize_channels_and_range(tmp_path):
    module = _ProbeModule()
    path = str(tmp_path / "probe")
    tf.saved_model.save(module, path, signatures={"probe": module.probe})
    images = np.zeros((2, 8, 8, 1), np.float32)
    images[1] = 1.0
    with pytest.raises(ValueError, match="no signature 'serving_default'.*'probe'"):
        clf.load_feature_fn(path)
    with pytest.raises(ValueError, match="none is named 'features'"):
        clf.load_feature_fn(path, signature="probe")
    with pytest.raises(ValueError, match="pass input_channels=3"):
        clf.load_feature_fn(path, "pool", signature="probe")(images)
    with pytest.raises(ValueError, match="takes 16x16 images, got 8x8; pass input_size"):
        clf.load_feature_fn(path, "pool", signature="probe", input_channels=3)(images)
    extractor = clf.load_feature_fn(path, "pool", signature="probe", input_size=16,
                                    input_channels=3, model_input_range=(0, 1))
    assert not extractor.has_logits
    features, logits = extractor(images)
    assert logits is None
    # -1 -> 0 and 1 -> 1 in the model's [0, 1] range; resized to 16.
    np.testing.assert_allclose(features, [[0.5, 0.5, 0.5, 16], [1, 1, 1, 16]], atol=1e-6)
    with_logits = clf.load_feature_fn(path, "pool", logits_layer="probs", signature="probe",
                                      input_size=16, input_channels=3)
    assert with_logits(images)[1].shape == (2, 4)


def test_keras_softmax_output_becomes_log_probabilities():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(6, activation="relu", name="hidden")(x)
    probs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, probs)
    images = _images(n=3, size=4)
    features, logits = clf.load_feature_fn(model)(images)  # penultimate layer: "hidden"
    assert features.shape == (3, 6)
    np.testing.assert_allclose(tf.nn.softmax(logits), model(images), rtol=1e-5)


def test_headless_keras_model_has_no_logits_and_pools_conv_features():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", name="conv")(inputs)
    model = keras.Model(inputs, x)
    images = _images(n=2, size=8)
    extractor = clf.load_feature_fn(model, feature_layer="conv")
    features, logits = extractor(images)
    assert logits is None and not extractor.has_logits
    np.testing.assert_allclose(features, np.mean(model(images), axis=(1, 2)), rtol=1e-5,
                               atol=1e-6)


def test_feature_extractor_errors(small_classifier, tmp_path):
    with pytest.raises(ValueError, match="no layer 'pool3'"):
        clf.load_feature_fn(small_classifier, feature_layer="pool3")
    with pytest.raises(FileNotFoundError):
        clf.load_feature_fn(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="without saved_model.pb"):
        clf.load_feature_fn(str(tmp_path))
    with pytest.raises(TypeError, match="float in \\[-1, 1\\]"):
        clf.load_feature_fn(small_classifier)(np.zeros((2, 28, 28, 1), np.uint8))

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="functional or Sequential"):
        clf.load_feature_fn(Subclassed())


def test_compute_features_from_arrays_and_datasets(small_classifier):
    images = _images(n=10)
    labels = np.arange(10) % 3
    extractor = clf.load_feature_fn(small_classifier)
    ref_features, ref_logits = _reference(small_classifier, images)
    features, logits = clf.compute_features(extractor, images, batch_size=3)
    assert features.shape == (10, 16) and logits.shape == (10, 10)
    np.testing.assert_allclose(features, ref_features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-6)
    pairs = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    np.testing.assert_allclose(clf.compute_features(extractor, pairs)[0], ref_features,
                               rtol=1e-5, atol=1e-6)
    unbatched = tf.data.Dataset.from_tensor_slices(images)
    np.testing.assert_allclose(clf.compute_features(extractor, unbatched, batch_size=4)[1],
                               ref_logits, rtol=1e-5, atol=1e-6)
    forever = tf.data.Dataset.from_tensor_slices(images).batch(4).repeat()
    with pytest.raises(ValueError, match="pass num_samples"):
        clf.compute_features(extractor, forever)
    features, _ = clf.compute_features(extractor, forever, num_samples=7)
    np.testing.assert_allclose(features, ref_features[:7], rtol=1e-5, atol=1e-6)
    # A plain callable returning only features works too.
    only_features, no_logits = clf.compute_features(lambda x: extractor(x)[0], images)
    assert no_logits is None and only_features.shape == (10, 16)


# ------------------------------------------------------------------ real digits
def test_mnist_classifier_on_real_digits(shared_data, tmp_path):
    images, labels = load_mnist_idx(os.path.join(shared_data, "mnist"))
    images = scale_to_unit_range(images[..., None]).numpy()
    train_x, train_y = images[:6000], labels[:6000]
    test_x, test_y = images[6000:8000], labels[6000:8000]
    keras.utils.set_random_seed(0)
    model = clf.train_classifier((train_x, train_y), epochs=1, batch_size=64, seed=0)
    path = clf.save_classifier(model, str(tmp_path / "classifier"))
    extractor = clf.load_feature_fn(path)  # what an evaluation run would do
    _, logits = clf.compute_features(extractor, test_x, batch_size=500)
    accuracy = metrics.label_accuracy(logits, test_y)
    assert accuracy.value > 0.9 and accuracy.num_samples_a == 2000

    half_a, _ = clf.compute_features(extractor, images[:1000], batch_size=500)
    half_b, _ = clf.compute_features(extractor, images[1000:2000], batch_size=500)
    noise = np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32)
    noise_features, _ = clf.compute_features(extractor, noise, batch_size=500)
    fd_real = metrics.frechet_distance(half_a, half_b).value
    fd_noise = metrics.frechet_distance(half_a, noise_features).value
    assert fd_real * 20 < fd_noise
    kid_real = metrics.kernel_distance(half_a, half_b, num_subsets=10, subset_size=500)
    kid_noise = metrics.kernel_distance(half_a, noise_features, num_subsets=10,
                                        subset_size=500)
    assert kid_real.value < 0.1 * kid_noise.value
    pr_real = metrics.precision_recall(half_a, half_b)
    pr_noise = metrics.precision_recall(half_a, noise_features)
    assert pr_real.precision > 0.8 and pr_real.recall > 0.8
    assert pr_noise.precision < 0.1
