"""Hand-written GAN objectives, independent of the library's loss table."""

import numpy as np


def softplus(x):
    return np.log1p(np.exp(x))


#: name -> (discriminator loss of real and fake outputs, generator loss of fake outputs).
HAND = {
    "minimax": (lambda r, f: softplus(-r) + softplus(f), lambda f: -softplus(f)),
    "non_saturating": (lambda r, f: softplus(-r) + softplus(f), lambda f: softplus(-f)),
    "wasserstein": (lambda r, f: f - r, lambda f: -f),
    "least_squares": (lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f ** 2,
                      lambda f: 0.5 * (f - 1) ** 2),
    "hinge": (lambda r, f: np.maximum(0, 1 - r) + np.maximum(0, 1 + f), lambda f: -f),
}
