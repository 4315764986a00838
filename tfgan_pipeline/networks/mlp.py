"""Multilayer-perceptron generator and discriminator.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Sec. 5
(MLP generator and discriminator). Used for the 1-D/2-D toy problems and for flat
images.
"""

import math

import keras


def _check_widths(hidden_units):
    hidden_units = tuple(int(u) for u in hidden_units)
    if not hidden_units or any(u <= 0 for u in hidden_units):
        raise ValueError(f"hidden_units must be positive integers, got {hidden_units}.")
    return hidden_units


def mlp_generator(latent_dim, output_shape, hidden_units=(128, 128), output_activation=None,
                  name="mlp_generator"):
    """Builds ``z -> x``.

    Args:
      latent_dim: size of ``z``.
      output_shape: shape of one sample, e.g. ``(2,)`` or ``(28, 28, 1)``.
      hidden_units: widths of the ReLU hidden layers.
      output_activation: ``None`` (linear, for toy data) or ``"tanh"`` (images in
        [-1, 1]).
      name: model name.

    Returns:
      A ``keras.Model`` with input ``[batch, latent_dim]``.
    """
    hidden_units = _check_widths(hidden_units)
    output_shape = tuple(int(d) for d in output_shape)
    z = keras.Input((int(latent_dim),), name="z")
    x = z
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    x = keras.layers.Dense(math.prod(output_shape), name="out")(x)
    x = keras.layers.Activation(output_activation or "linear", dtype="float32", name="act")(x)
    if len(output_shape) > 1:
        x = keras.layers.Reshape(output_shape, name="reshape")(x)
    return keras.Model(z, x, name=name)


def mlp_discriminator(input_shape, hidden_units=(128, 128), leaky_relu_slope=0.2,
                      name="mlp_discriminator"):
    """Builds ``x -> logit`` (shape ``[batch, 1]``, float32).

    Args:
      input_shape: shape of one sample.
      hidden_units: widths of the LeakyReLU hidden layers.
      leaky_relu_slope: negative slope.
      name: model name.
    """
    hidden_units = _check_widths(hidden_units)
    x_in = keras.Input(tuple(int(d) for d in input_shape), name="x")
    x = keras.layers.Flatten()(x_in) if len(x_in.shape) > 2 else x_in
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=leaky_relu_slope)(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(x_in, logit, name=name)
