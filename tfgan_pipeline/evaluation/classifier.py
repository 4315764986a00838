"""Feature classifiers for the sample-quality metrics, and feature extraction.

FID, KID, IS and precision/recall (:mod:`tfgan_pipeline.evaluation.metrics`) are
defined on the activations of a classifier: Inception-v3 pool3 features / logits
in the papers (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016;
used by Salimans et al. 2016 Sec. 4 and Heusel et al. 2017 Sec. 4). Nothing is
downloaded here, so the features come from either

* a small CNN the package trains on the real data (:func:`build_mnist_classifier`,
  :func:`train_classifier`) and saves with the run (:func:`save_classifier`) -- the
  usual choice for MNIST-like domains, where an ImageNet network is a poor judge;
  its distances are **not comparable to published Inception FID numbers**; or
* any classifier already on disk or in memory -- a ``keras.Model``, a ``.keras``
  file or a SavedModel directory (e.g. an Inception network) -- through
  :func:`load_feature_fn`.

:class:`FeatureExtractor` (what :func:`load_feature_fn` returns) maps images to
``(features, logits)``. Input convention: images are float ``[B, H, W, C]`` in
``[-1, 1]`` (the generators' tanh range; ``[B, H, W]`` is read as grayscale with
one channel). Before the model sees them the extractor, in this order,
(1) replicates a single channel to ``input_channels`` (e.g. 3 for an RGB network),
(2) resizes bilinearly to ``input_size`` if given (e.g. 299 for Inception-v3;
results are clipped to ``[-1, 1]``), (3) maps ``[-1, 1]`` linearly to
``model_input_range`` (default ``(-1, 1)``, i.e. unchanged; ``(0, 1)`` or
``(0, 255)`` for networks that expect those). Nothing else is done: a model that
needs other preprocessing must include it. Features of rank 4 (a conv map) are
averaged over height and width (as Inception's pool3); other ranks are flattened.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_pipeline.data.images import normalize_image_size, resize_images

#: Layer (and SavedModel output) name of the features in classifiers built here.
FEATURE_LAYER = "features"
#: Layer (and SavedModel output) name of the logits in classifiers built here.
LOGITS_LAYER = "logits"
#: Signature written by :func:`save_classifier` and read by default.
SIGNATURE = "serving_default"

_KERAS_SUFFIXES = (".keras", ".h5")


# ------------------------------------------------------------------ the classifier
def build_mnist_classifier(image_size=28, channels=1, num_classes=10, width=32,
                           name="mnist_classifier"):
    """A small CNN whose penultimate layer (named ``"features"``) is the feature layer.

    ``images [-1, 1] -> conv(width) -> maxpool -> conv(2 width) -> maxpool -> flatten
    -> dense(4 width, ReLU) "features" -> dense(num_classes) "logits"``, all 3x3
    convolutions with ReLU and "same" padding. About 0.4M parameters at the defaults.

    Args:
      image_size: input height/width (int or ``(h, w)``), at least 4.
      channels: input channels.
      num_classes: number of classes (output logits).
      width: filters of the first convolution; the feature layer has ``4 * width``
        units (128 at the default).
      name: model name.

    Returns:
      A functional ``keras.Model`` ``images -> logits`` (float32 logits).
    """
    height, wide = normalize_image_size(image_size)
    if min(height, wide) < 4:
        raise ValueError(f"image_size must be at least 4 (two 2x poolings), got {image_size!r}.")
    for arg, value in (("channels", channels), ("num_classes", num_classes), ("width", width)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}.")
    width = int(width)
    inputs = keras.Input((height, wide, int(channels)), name="images")
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="conv_1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool_1")(x)
    x = keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(name="pool_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(4 * width, activation="relu", name=FEATURE_LAYER)(x)
    logits = keras.layers.Dense(int(num_classes), dtype="float32", name=LOGITS_LAYER)(x)
    return keras.Model(inputs, logits, name=name)


def _is_infinite(dataset):
    return int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY)


def train_classifier(data, model=None, epochs=1, batch_size=64, learning_rate=1e-3,
                     num_classes=10, steps_per_epoch=None, validation_data=None, seed=None,
                     verbose=0):
    """Trains a feature classifier on labelled real images.

    Args:
      data: a batched ``tf.data.Dataset`` of ``(images, labels)`` (images float
        ``[B, H, W, C]`` in ``[-1, 1]``, integer labels ``[B]``), or a pair of numpy
        arrays ``(images [N, H, W, C], labels [N])``, shuffled and batched here.
      model: a ``keras.Model`` ``images -> logits`` to train; ``None`` builds
        :func:`build_mnist_classifier` for the data's image shape.
      epochs: passes over ``data`` (or of ``steps_per_epoch`` steps).
      batch_size: batch size for numpy ``data`` (ignored for a dataset).
      learning_rate: Adam learning rate.
      num_classes: classes of the built model (when ``model`` is ``None``).
      steps_per_epoch: steps per epoch; required when ``data`` repeats forever.
      validation_data: optional held-out data in the same form as ``data``.
      seed: shuffle seed for numpy ``data``.
      verbose: Keras ``fit`` verbosity.

    Returns:
      The trained model (``model.history`` holds the Keras ``History``), compiled
      with sparse categorical cross-entropy on logits and an ``accuracy`` metric.
    """
    data = _as_training_dataset(data, batch_size, seed, "data")
    if validation_data is not None:
        validation_data = _as_training_dataset(validation_data, batch_size, None,
                                               "validation_data", shuffle=False)
    if _is_infinite(data) and steps_per_epoch is None:
        raise ValueError("data repeats forever; pass steps_per_epoch (or a finite dataset).")
    if model is None:
        image_spec = data.element_spec[0]
        if image_spec.shape.rank != 4 or None in image_spec.shape[1:]:
            raise ValueError(f"cannot build a classifier for images of shape "
                             f"{image_spec.shape}; expected batches [B, H, W, C] with static "
                             "H, W, C, or pass model=.")
        model = build_mnist_classifier(image_size=tuple(image_spec.shape[1:3]),
                                       channels=image_spec.shape[3], num_classes=num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    # shuffle=False: a tf.data input is shuffled by the dataset itself (Keras warns).
    model.fit(data, epochs=epochs, steps_per_epoch=steps_per_epoch,
              validation_data=validation_data, shuffle=False, verbose=verbose)
    return model


def _as_training_dataset(data, batch_size, seed, name, shuffle=True):
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(f"{name} must yield (images, labels) pairs, got element_spec "
                             f"{spec}.")
        return data
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a tf.data.Dataset of (images, labels) batches or a "
                        f"pair of arrays (images, labels), got {type(data).__name__}.")
    images = np.asarray(data[0], dtype=np.float32)
    labels = np.asarray(data[1])
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: expected images [N, H, W, C] and labels [N], got "
                         f"{images.shape} and {labels.shape}.")
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError(f"{name}: images must be scaled to [-1, 1], got values in "
                         f"[{images.min():.4g}, {images.max():.4g}] (e.g. use "
                         "tfgan_pipeline.data.images.scale_to_unit_range).")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64)))
    if shuffle:
        dataset = dataset.shuffle(images.shape[0], seed=seed)
    return dataset.batch(int(batch_size))


# ------------------------------------------------------------------ saving
def _feature_model(model, feature_layer=None, logits_layer=None):
    """``keras.Model`` ``images -> [features, logits]`` (logits ``None`` if there are none).

    Returns ``(sub_model, has_logits, logits_are_probabilities)``.
    """
    try:
        inputs = model.inputs
        outputs = model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise TypeError(
            f"cannot read the layers of {type(model).__name__} {model.name!r}: pass a functional "
            "or Sequential keras.Model that has been built (called on an Input).")
    if len(inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(inputs)} inputs; a feature model needs "
                         "exactly one image input.")
    names = [layer.name for layer in model.layers]
    if feature_layer is None:
        feature_layer = FEATURE_LAYER if FEATURE_LAYER in names else None
        if feature_layer is None:
            if len(model.layers) < 2:
                raise ValueError(f"model {model.name!r} has no penultimate layer; pass "
                                 "feature_layer.")
            feature_layer = model.layers[-2].name
    try:
        features = model.get_layer(feature_layer).output
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {feature_layer!r}; its layers "
                         f"are {names}.") from None
    if logits_layer is not None:
        try:
            logits_source = model.get_layer(logits_layer)
        except ValueError:
            raise ValueError(f"model {model.name!r} has no layer {logits_layer!r}; its layers "
                             f"are {names}.") from None
        logits = logits_source.output
    else:
        if len(outputs) != 1:
            raise ValueError(f"model {model.name!r} has {len(outputs)} outputs; pass "
                             "logits_layer to say which are the logits.")
        logits = outputs[0]
        logits_source = model.layers[-1]
    if logits is features:
        return keras.Model(inputs[0], features), False, False
    probabilities = (isinstance(logits_source, keras.layers.Softmax)
                     or getattr(logits_source, "activation", None) is keras.activations.softmax)
    return keras.Model(inputs[0], [features, logits]), True, probabilities


def save_classifier(model, path, feature_layer=None, logits_layer=None):
    """Saves a classifier so :func:`load_feature_fn` can read it back.

    * ``path`` ending in ``.keras``: the Keras 3 native file (``model.save``), read
      back with ``keras.saving.load_model``; the feature layer is found by name.
    * any other ``path``: a SavedModel directory (``keras.export.ExportArchive``)
      with one signature ``"serving_default"``: input ``images`` float32
      ``[None, H, W, C]`` in the model's own input range, outputs ``"features"`` and
      ``"logits"``. Loadable without this package (``tf.saved_model.load``).

    Both overwrite an existing file / directory at ``path``.

    Args:
      model: functional/Sequential ``keras.Model`` (e.g. from :func:`train_classifier`).
      path: destination.
      feature_layer: name of the feature layer (default ``"features"`` if present,
        else the penultimate layer); used for the SavedModel form.
      logits_layer: name of the logits layer (default: the model's output).

    Returns:
      ``path``.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if path.endswith(".keras"):
        model.save(path)
        return path
    sub_model, has_logits, probabilities = _feature_model(model, feature_layer, logits_layer)
    input_shape = tuple(sub_model.inputs[0].shape)

    def serve(images):
        outputs = sub_model(images, training=False)
        features, logits = outputs if has_logits else (outputs, None)
        result = {FEATURE_LAYER: _pool_features(features)}
        if has_logits:
            result[LOGITS_LAYER] = _to_logits(logits, probabilities)
        return result

    archive = keras.export.ExportArchive()
    archive.track(sub_model)
    archive.add_endpoint(SIGNATURE, serve, input_signature=[
        tf.TensorSpec((None,) + input_shape[1:], tf.float32, name="images")])
    archive.write_out(path, verbose=False)
    return path


# ------------------------------------------------------------------ extraction
def _pool_features(features):
    if features.shape.rank == 4:
        return tf.reduce_mean(features, axis=[1, 2])
    if features.shape.rank == 2:
        return features
    return tf.reshape(features, [tf.shape(features)[0], -1])


def _to_logits(values, probabilities):
    values = tf.cast(values, tf.float32)
    if probabilities:  # log-probabilities are logits of the same softmax
        return tf.math.log(tf.maximum(values, 1e-30))
    return values


def _load_source(source, signature):
    """Returns ``("keras", model)`` or ``("saved_model", concrete signature function)``."""
    if isinstance(source, keras.Model):
        return "keras", source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a keras.Model or a path to a .keras file or a "
                        f"SavedModel directory, got {type(source).__name__}.")
    path = os.fspath(source)
    if path.endswith(_KERAS_SUFFIXES):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Keras model file {path!r} does not exist.")
        return "keras", keras.saving.load_model(path, compile=False)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(f"{path!r} is a directory without saved_model.pb; point to a "
                             "SavedModel directory or a .keras file.")
        loaded = tf.saved_model.load(path)
        available = sorted(loaded.signatures.keys())
        if signature not in loaded.signatures:
            raise ValueError(f"SavedModel {path!r} has no signature {signature!r}; it has "
                             f"{available}. Pass signature=.")
        return "saved_model", (loaded, loaded.signatures[signature])
    raise FileNotFoundError(f"{path!r} is neither a .keras/.h5 file nor a SavedModel directory.")


class FeatureExtractor:
    """Callable ``images -> (features, logits)`` on top of a classifier.

    See the module docstring for the preprocessing (channels, resize, range). For a
    Keras model, ``feature_layer`` / ``logits_layer`` are layer names (defaults:
    a layer named ``"features"`` else the penultimate layer; the model's output).
    For a SavedModel they are output keys of ``signature`` (defaults: ``"features"``
    else the only output; ``"logits"`` if present). Logits are ``None`` when the
    model has none (its output is the feature layer, or the signature has no
    logits output). Outputs of a softmax layer are converted to log-probabilities,
    which are valid logits.

    Attributes:
      description: a short human-readable name of the source, for reports.
      has_logits: whether ``__call__`` returns logits.
    """

    def __init__(self, source, feature_layer=None, logits_layer=None, input_size=None,
                 input_channels=None, model_input_range=(-1.0, 1.0), signature=SIGNATURE):
        """Wraps ``source``: a ``keras.Model``, a ``.keras``/``.h5`` file or a SavedModel dir.

        Args:
          source: the classifier.
          feature_layer: layer name (Keras) or output key (SavedModel) of the features.
          logits_layer: layer name (Keras) or output key (SavedModel) of the logits.
          input_size: resize images to this (int or ``(h, w)``) before the model;
            ``None`` feeds them as they are (their size must match the model's).
          input_channels: replicate 1-channel images to this many channels (e.g. 3).
          model_input_range: ``(low, high)`` the model expects; ``[-1, 1]`` is mapped
            linearly onto it.
          signature: SavedModel signature name.
        """
        self._input_size = normalize_image_size(input_size, "input_size")
        self._input_channels = None if input_channels is None else int(input_channels)
        low, high = (float(v) for v in model_input_range)
        if not high > low:
            raise ValueError(f"model_input_range must be (low, high) with low < high, got "
                             f"{model_input_range!r}.")
        self._range = (low, high)
        kind, loaded = _load_source(source, signature)
        if kind == "keras":
            self._init_keras(loaded, feature_layer, logits_layer)
            self.description = f"keras model {loaded.name!r}"
        else:
            self._init_saved_model(*loaded, feature_layer, logits_layer)
            self.description = f"SavedModel {os.fspath(source)!r} signature {signature!r}"
        if isinstance(source, (str, os.PathLike)) and kind == "keras":
            self.description = f"{os.fspath(source)!r} ({self.description})"
        self._call = tf.function(self._forward, reduce_retracing=True)

    # -------------------------------------------------------------- set-up
    def _init_keras(self, model, feature_layer, logits_layer):
        sub_model, self.has_logits, self._probabilities = _feature_model(
            model, feature_layer, logits_layer)
        self._model = sub_model
        self._expected_shape = tuple(sub_model.inputs[0].shape[1:])
        self._input_dtype = tf.float32

        def run(images):
            outputs = sub_model(images, training=False)
            return tuple(outputs) if self.has_logits else (outputs, None)

        self._run = run

    def _init_saved_model(self, loaded, fn, feature_key, logits_key):
        self._loaded = loaded  # keeps the variables alive
        kwargs = fn.structured_input_signature[1]
        if len(kwargs) != 1 or fn.structured_input_signature[0]:
            raise ValueError(f"the SavedModel signature must take exactly one named image "
                             f"input, it takes {fn.structured_input_signature}.")
        (input_name, spec), = kwargs.items()
        outputs = fn.structured_outputs
        keys = sorted(outputs)
        if feature_key is None:
            if FEATURE_LAYER in outputs:
                feature_key = FEATURE_LAYER
            elif len(outputs) == 1:
                feature_key = keys[0]
            else:
                raise ValueError(f"the SavedModel signature has outputs {keys} and none is "
                                 f"named {FEATURE_LAYER!r}; pass feature_layer=<output key>.")
        if feature_key not in outputs:
            raise ValueError(f"the SavedModel signature has no output {feature_key!r}; it has "
                             f"{keys}.")
        if logits_key is None and LOGITS_LAYER in outputs and feature_key != LOGITS_LAYER:
            logits_key = LOGITS_LAYER
        if logits_key is not None and logits_key not in outputs:
            raise ValueError(f"the SavedModel signature has no output {logits_key!r}; it has "
                             f"{keys}.")
        self.has_logits = logits_key is not None
        self._probabilities = False
        self._expected_shape = tuple(spec.shape[1:]) if spec.shape.rank else ()
        self._input_dtype = spec.dtype

        def run(images):
            result = fn(**{input_name: images})
            return result[feature_key], (result[logits_key] if self.has_logits else None)

        self._run = run

    # -------------------------------------------------------------- calling
    def _prepare_shape(self, images):
        """Validates / fixes the static shape before tracing; returns the images tensor."""
        images = tf.convert_to_tensor(images)
        if not images.dtype.is_floating:
            raise TypeError(f"images must be float in [-1, 1], got dtype {images.dtype.name}; "
                            "scale integer pixels first (scale_to_unit_range).")
        if images.shape.rank == 3:
            images = images[..., None]
        if images.shape.rank != 4:
            raise ValueError(f"images must be [B, H, W, C] (or [B, H, W] grayscale), got "
                             f"{images.shape}.")
        channels = images.shape[-1]
        if self._input_channels is not None and channels not in (1, self._input_channels):
            raise ValueError(f"cannot turn {channels}-channel images into "
                             f"{self._input_channels} channels; only 1 -> N replication is "
                             "supported.")
        if self._input_channels is not None:
            channels = self._input_channels
        size = self._input_size or tuple(images.shape[1:3])
        expected = self._expected_shape
        if len(expected) == 3:
            if expected[2] is not None and expected[2] != channels:
                hint = f"; pass input_channels={expected[2]}" if channels == 1 else ""
                raise ValueError(f"the model takes {expected[2]} channels, the images have "
                                 f"{channels}{hint}.")
            if None not in expected[:2] and tuple(expected[:2]) != tuple(size):
                raise ValueError(f"the model takes {expected[0]}x{expected[1]} images, got "
                                 f"{size[0]}x{size[1]}; pass input_size={expected[:2]} to "
                                 "resize.")
        return images

    def _forward(self, images):
        images = tf.cast(images, tf.float32)
        if self._input_channels is not None and images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, self._input_channels])
        if self._input_size is not None:
            images = resize_images(images, self._input_size)
        low, high = self._range
        if (low, high) != (-1.0, 1.0):
            images = low + (images + 1.0) * (0.5 * (high - low))
        if self._input_dtype.is_integer:
            images = tf.round(images)
        images = tf.cast(images, self._input_dtype)
        features, logits = self._run(images)
        features = _pool_features(tf.cast(features, tf.float32))
        if logits is None:
            return features, None
        return features, _to_logits(logits, self._probabilities)

    def __call__(self, images):
        """Returns ``(features [B, F], logits [B, K] or None)`` as float32 tensors."""
        return self._call(self._prepare_shape(images))


def load_feature_fn(path_or_model, feature_layer=None, **kwargs):
    """Returns a :class:`FeatureExtractor` for a model object, ``.keras`` file or SavedModel.

    Args:
      path_or_model: ``keras.Model``, path to a ``.keras``/``.h5`` file, or a
        SavedModel directory (e.g. written by :func:`save_classifier`, or an
        Inception network exported with a signature).
      feature_layer: layer name / signature output key of the features.
      **kwargs: the other :class:`FeatureExtractor` arguments (``logits_layer``,
        ``input_size``, ``input_channels``, ``model_input_range``, ``signature``).
    """
    return FeatureExtractor(path_or_model, feature_layer=feature_layer, **kwargs)


def compute_features(feature_fn, images_or_dataset, batch_size=256, num_samples=None):
    """Runs ``feature_fn`` over all images, batch by batch.

    Args:
      feature_fn: callable ``images -> (features, logits or None)`` (e.g. a
        :class:`FeatureExtractor`) or ``images -> features``.
      images_or_dataset: numpy/tensor ``[N, H, W, C]`` (or ``[N, H, W]``) in
        ``[-1, 1]``; or a ``tf.data.Dataset`` of image batches ``[B, H, W, C]``,
        single images ``[H, W, C]`` (batched here), or tuples/dicts whose first
        entry / ``"images"`` key is the images (labels are ignored).
      batch_size: batch size for arrays and unbatched datasets.
      num_samples: stop after this many images (the last batch is cut); required
        for a dataset that repeats forever.

    Returns:
      ``(features, logits)``: float32 numpy ``[N, F]`` and ``[N, K]`` (``None`` when
      ``feature_fn`` gives no logits).

    Raises:
      ValueError: for an infinite dataset without ``num_samples`` or no images.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if num_samples is not None and (isinstance(num_samples, bool) or num_samples < 1):
        raise ValueError(f"num_samples must be a positive integer or None, got {num_samples!r}.")
    features, logits, count = [], [], 0
    for batch in _image_batches(images_or_dataset, int(batch_size), num_samples):
        if num_samples is not None:
            batch = batch[:num_samples - count]
        out = feature_fn(batch)
        feats, batch_logits = out if isinstance(out, (tuple, list)) else (out, None)
        features.append(np.asarray(feats, dtype=np.float32))
        if batch_logits is not None:
            logits.append(np.asarray(batch_logits, dtype=np.float32))
        count += features[-1].shape[0]
        if num_samples is not None and count >= num_samples:
            break
    if not features:
        raise ValueError("images_or_dataset yielded no images.")
    if logits and len(logits) != len(features):
        raise ValueError("feature_fn returned logits for some batches but not others.")
    return np.concatenate(features), (np.concatenate(logits) if logits else None)


def _image_batches(source, batch_size, num_samples):
    if isinstance(source, tf.data.Dataset):
        if _is_infinite(source) and num_samples is None:
            raise ValueError("the dataset repeats forever; pass num_samples.")
        spec = source.element_spec
        if isinstance(spec, dict):
            if "images" not in spec:
                raise ValueError(f"dataset elements are dicts without an 'images' key: "
                                 f"{sorted(spec)}.")
            source = source.map(lambda element: element["images"])
        elif isinstance(spec, tuple):
            source = source.map(lambda *element: element[0])
        if source.element_spec.shape.rank == 3:
            source = source.batch(batch_size)
        yield from source
        return
    images = source if tf.is_tensor(source) else np.asarray(source)
    for start in range(0, images.shape[0], batch_size):
        yield images[start:start + batch_size]
