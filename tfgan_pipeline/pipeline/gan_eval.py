"""Sample-quality metrics of the GAN Evaluator (image datasets).

Features come from a classifier trained on the run's real data and saved in
``<output_dir>/classifier/`` (reused on reruns), or from a user model
(``feature_model``: a Keras model file or SavedModel, e.g. an Inception network on
disk). Reported, each with its sample size:

* Fréchet distance (Heusel et al. 2017) and KID (Binkowski et al. 2018) between
  real and generated features, precision/recall (Kynkaanniemi et al. 2019), and
  the classifier score (Salimans et al. 2016) of generated samples;
* conditional models: the fraction of samples the classifier assigns to the
  requested label;
* InfoGAN: accuracy of the first categorical code at predicting the classifier's
  label after the best one-to-one matching.

A domain classifier's Fréchet distance is **not** comparable with published
Inception FID numbers, and all of these are biased at small sample sizes: compare
runs only at equal ``num_samples``.
"""

import os

import numpy as np

#: Real examples the feature classifier is trained on (the first this many of the stream).
CLASSIFIER_EXAMPLES = 10_000

from tfgan_pipeline.evaluation import classifier as classifier_lib
from tfgan_pipeline.evaluation import metrics as metrics_lib


def collect_real(dataset, num_samples):
    """Takes ``num_samples`` real images (and labels, if the dataset has them)."""
    images, labels = [], []
    count = 0
    for batch in dataset:
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        if x.shape.rank != 4:
            raise ValueError("sample-quality metrics need image batches [B, H, W, C].")
        images.append(x.numpy())
        if y is not None:
            labels.append(np.asarray(y.numpy()).reshape(-1))
        count += int(x.shape[0])
        if count >= num_samples:
            break
    images = np.concatenate(images)[:num_samples]
    labels = np.concatenate(labels)[:num_samples] if labels else None
    return images, labels


def feature_extractor(folder, real_images, real_labels, feature_model=None, log=print):
    """Loads the user's feature model, the classifier saved in ``folder``, or trains one."""
    if feature_model:
        return classifier_lib.load_feature_fn(feature_model)
    path = os.path.join(folder, "feature_classifier.keras")
    if os.path.exists(path):
        return classifier_lib.load_feature_fn(path)
    if real_labels is None:
        raise ValueError("No labels in this dataset to train a feature classifier on: pass "
                         "--feature_model=PATH (a Keras model or SavedModel).")
    num_classes = int(real_labels.max()) + 1
    model = classifier_lib.build_mnist_classifier(
        image_size=real_images.shape[1:3], channels=real_images.shape[-1],
        num_classes=num_classes)
    model = classifier_lib.train_classifier((real_images, real_labels), model=model, epochs=3,
                                            num_classes=num_classes, seed=0)
    accuracy = float(model.history.history["accuracy"][-1])
    log(f"Trained the feature classifier on {len(real_images)} real images "
        f"(train accuracy {accuracy:.3f}); saved to {path}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    classifier_lib.save_classifier(model, path)
    return classifier_lib.load_feature_fn(path)


class PixelGaussian:
    """The trivial image generator: every pixel drawn from a Gaussian with that pixel's
    mean and standard deviation over the real images (no structure at all)."""

    conditioning = ()

    def __init__(self, real_images):
        real = np.asarray(real_images, np.float64)
        self.mean, self.std = real.mean(axis=0), real.std(axis=0)

    def generate(self, num_samples, seed=0):
        rng = np.random.default_rng(seed)
        draws = rng.normal(self.mean, self.std, (num_samples,) + self.mean.shape)
        return np.clip(draws, -1.0, 1.0).astype(np.float32)


def _distances(real_f, fake_f, n, seed):
    out = {}
    out.update(metrics_lib.frechet_distance(real_f, fake_f).to_dict("frechet_distance"))
    out.update(metrics_lib.kernel_distance(
        real_f, fake_f, num_subsets=20, subset_size=min(500, n), seed=seed).to_dict("kid"))
    out.update(metrics_lib.precision_recall(real_f, fake_f, k=3).to_dict())
    return out


def real_vs_real(images_a, images_b, feature_fn, seed=0):
    """The floor: the same metrics between two disjoint halves of the real images."""
    a, _ = classifier_lib.compute_features(feature_fn, images_a)
    b, _ = classifier_lib.compute_features(feature_fn, images_b)
    return {"eval_num_samples": len(images_a), **_distances(a, b, len(images_a), seed)}


def sample_quality(model, real_images, feature_fn, num_samples, seed=0):
    """Metrics of ``num_samples`` generated images against real ones (see module doc).

    ``model`` is anything with ``generate(n, seed=)`` and ``conditioning`` (the
    models' public API): conditional models are asked for labels cycling through the
    classes and scored on label accuracy; InfoGAN-style models (``categorical``
    conditioning) on their first categorical code's accuracy after matching.
    """
    n = min(num_samples, len(real_images))
    real_f, _ = classifier_lib.compute_features(
        feature_fn, real_images[np.random.default_rng(seed).permutation(len(real_images))[:n]])
    out = {"eval_num_samples": n}
    requested = None
    if "labels" in model.conditioning:
        requested = np.arange(n) % model.num_classes
        fake = model.generate(n, labels=requested, seed=seed)
    else:
        fake = model.generate(n, seed=seed)
    fake = np.asarray(fake)
    fake_f, fake_logits = classifier_lib.compute_features(feature_fn, fake)
    out.update(_distances(real_f, fake_f, n, seed))
    if fake_logits is not None:
        out.update(metrics_lib.classifier_score(fake_logits, splits=1).to_dict("classifier_score"))
        if requested is not None:
            out["label_accuracy"] = float(metrics_lib.label_accuracy(fake_logits, requested))
        if "categorical" in model.conditioning and len(model.categorical_dims):
            k = int(model.categorical_dims[0])
            codes = np.arange(n) % k
            coded = np.asarray(model.generate(n, categorical=codes, seed=seed + 1))
            _, coded_logits = classifier_lib.compute_features(feature_fn, coded)
            predicted = np.argmax(coded_logits, axis=1)
            result = metrics_lib.categorical_code_accuracy(codes, predicted, k,
                                                           num_classes=coded_logits.shape[1])
            out["categorical_code_accuracy"] = float(result)
    return out
