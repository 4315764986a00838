r"""GAN, WGAN-GP, cGAN, ACGAN and InfoGAN on the real MNIST digits under one time budget.

Every family trains for the same wall-clock budget through the real GAN pipeline
(``tfgan_pipeline.pipeline.jobs.run_job`` with ``max_minutes``; a second run with
``train_steps`` set to the steps reached evaluates that model), then is scored with
the same feature
classifier (trained once on the real digits and shared by every run): Fréchet
distance and KID on classifier features, precision/recall, classifier score,
label accuracy for the conditional models and code accuracy for InfoGAN, all with
the stated sample size. Prints one table.

  .venv/bin/python benchmarks/mnist_gan_comparison.py --minutes 3 --out /tmp/mnist_cmp \
      [--mnist_dir ../shared/data/mnist] [--families dcgan,wgan_gp,cgan,acgan,infogan]

Domain-classifier distances are not comparable with published Inception FID.
"""

import argparse
import dataclasses
import json
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfgan_pipeline import config as config_lib  # noqa: E402
from tfgan_pipeline.data import mnist  # noqa: E402
from tfgan_pipeline.pipeline import gan_eval, jobs, layout  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mnist_dir", default=os.path.join(HERE, "..", "..", "shared", "data", "mnist"))
    p.add_argument("--out", default="runs/mnist_comparison")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--families", default="dcgan,wgan_gp,cgan,acgan,infogan")
    p.add_argument("--eval_samples", type=int, default=2000)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    args = p.parse_args()
    if not os.path.isdir(args.mnist_dir):
        raise SystemExit(f"MNIST folder {args.mnist_dir} not found (pass --mnist_dir).")

    # One feature classifier for every run, trained on all the real digits.
    images, labels = mnist.load_mnist_idx(args.mnist_dir)
    real = (images[..., None].astype("float32") / 127.5 - 1.0)
    shared = os.path.abspath(os.path.join(args.out, "shared", "classifier"))
    gan_eval.feature_extractor(shared, real, labels)
    feature_model = os.path.join(shared, "feature_classifier.keras")

    rows = []
    for family in args.families.split(","):
        cfg = config_lib.GANConfig(
            gan=family, dataset=args.mnist_dir, output_dir=os.path.join(args.out, family),
            pipeline_name=family, train_steps=1_000_000, checkpoint_every=250,
            batch_size=args.batch_size, width=args.width, max_minutes=args.minutes,
            eval_samples=args.eval_samples, feature_model=feature_model, num_samples=64,
            require_beating_baseline=False)
        t = time.time()

        def log(line, f=family):
            print(f"[{f}] {line}", flush=True)

        result = jobs.run_job(cfg, log=log)
        steps = int(re.search(r"stopped at step (\d+)", result.interrupted).group(1))
        result = jobs.run_job(dataclasses.replace(cfg, train_steps=steps, max_minutes=None),
                              log=log)
        metrics = json.load(open(layout.artifact_file(
            result.output("Evaluator", "evaluation").uri, "ModelEvaluation", "metrics")))
        rows.append((family, steps, time.time() - t, metrics))

    print(f"\nReal MNIST t10k ({len(images)} digits), {args.minutes:g} min training budget each "
          f"(wall clock, {os.cpu_count()} CPUs), batch {args.batch_size}, width {args.width}; "
          f"metrics on {args.eval_samples} generated vs {args.eval_samples} real images, "
          "features from one classifier trained on the real digits.")
    print(f"{'model':9s} {'steps':>6s} {'FD':>8s} {'KID':>8s} {'prec':>6s} {'recall':>6s} "
          f"{'score':>6s} {'label acc':>9s} {'code acc':>8s}")
    for family, steps, _, m in rows:
        def fmt(key, spec):
            width = int(spec.split(".")[0])
            return format(m[key], spec) if key in m else "-".rjust(width)
        print(f"{family:9s} {steps:6d} {fmt('frechet_distance', '8.2f')} {fmt('kid', '8.3f')} "
              f"{fmt('precision', '6.3f')} {fmt('recall', '6.3f')} "
              f"{fmt('classifier_score', '6.2f')} {fmt('label_accuracy', '9.3f')} "
              f"{fmt('categorical_code_accuracy', '8.3f')}")


if __name__ == "__main__":
    main()
