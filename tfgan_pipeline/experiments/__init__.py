"""The GAN literature's claims as experiments, measured with this library's own models.

One module per experiment, each stating its claim, source and thresholds as module
constants before anything runs, with a ``full`` and a ``smoke`` budget:

  1. :mod:`.optimal_discriminator` — Goodfellow et al. 2014, Prop. 1 and Thm. 1: D
     reaches D* = p_data / (p_data + p_g) and the value reaches -log 4 + 2 JSD.
  2. :mod:`.diminished_gradient` — Goodfellow et al. 2014, Sec. 3: against a confident
     D the saturating (minimax) generator gradient vanishes, the non-saturating one
     does not.
  3. :mod:`.kl_direction` — maximum likelihood (forward KL) is mean-seeking, reverse KL
     mode-seeking, when one Gaussian is fitted to two modes.
  4. :mod:`.mode_collapse` — Metz et al. 2017: GANs drop modes of 2-D mixtures (six
     objectives, ring8 and grid25).
  5. :mod:`.wasserstein_quality` — Arjovsky et al. 2017, Sec. 4.2: the WGAN critic's
     estimate tracks sample quality, the GAN discriminator's loss does not.
  6. :mod:`.infogan_codes` — Chen et al. 2016, Sec. 7.1: InfoGAN's categorical code
     classifies MNIST digits (5% error in the paper).
  7. :mod:`.conditioning` — Mirza & Osindero 2014, Odena et al. 2017: the label sets
     the digit, z sets the style.
  8. :mod:`.pix2pix_ablations` — Isola et al. 2017, Tables 1-3: L1 alone blurs, the
     cGAN term sharpens; skip connections lower the error; PatchGAN sizes.

:mod:`.core` holds the registry and the shared pieces; :mod:`.runner`
:class:`~.runner.ExperimentsConfig` and :func:`~.runner.run_experiments`;
:mod:`.report` writes ``index.html`` and ``summary.md``. The command line is
``python -m pipelines.experiments``.
"""

from tfgan_pipeline.experiments.runner import (NAMES, REGISTRY, ConfigError,
                                               ExperimentsConfig, run_experiment,
                                               run_experiments)

__all__ = ["NAMES", "REGISTRY", "ConfigError", "ExperimentsConfig", "run_experiment",
           "run_experiments"]
