r"""How pix2pix training cost grows with the work: image size and batch size.

For each ``SIZExBATCH`` setting (default 128x1, 256x1, 512x1, 256x4, 256x16) a fresh
child process builds the pipeline's default pix2pix (U-Net of depth log2(size) +
70x70 PatchGAN, paper preset, fused Adam, the policy ``--precision`` resolves to),
trains ``--warmup`` untimed and ``--steps`` timed steps with ``model.fit`` on an
in-memory batch, and reports the median seconds per step; the parent prints s/step,
images/s, the child's CPU seconds per timed step (user + system, both threads: on a
shared machine the figure that does not depend on what else runs) and its peak
resident memory (``ru_maxrss`` from ``wait4``: the
whole process, TensorFlow included). One process per setting, so one setting's
memory never inflates another's.

  .venv/bin/python benchmarks/scaling.py [--settings 128x1 256x1 512x1 256x4 256x16]
      [--steps 4] [--warmup 2] [--precision auto]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def child(size, batch, steps, warmup, precision_name):
    import keras  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from pix2pix_step import _StepTimer, cpu_seconds, fit_times  # noqa: PLC0415
    from tfgan_pipeline import models, networks, precision  # noqa: PLC0415

    choice = precision.resolve_precision(precision_name)
    keras.mixed_precision.set_global_policy(choice.policy)
    model = models.compile_preset(models.Pix2Pix(networks.unet_generator(size),
                                                 networks.patchgan_discriminator(size)))
    rng = np.random.default_rng(0)
    pair = tuple(rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32") for _ in range(2))
    ds = tf.data.Dataset.from_tensors(pair).repeat().prefetch(2)
    model.fit(ds, epochs=1, steps_per_epoch=warmup, verbose=0)
    cpu0 = cpu_seconds()
    times = fit_times(model, ds, _StepTimer(1), steps)
    cpu = (cpu_seconds() - cpu0) / steps
    params = model.generator.count_params() + model.discriminator.count_params()
    print(json.dumps({"s_per_step": statistics.median(times), "policy": choice.policy,
                      "params": params, "cpu_s_per_step": cpu}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--settings", nargs="+", default=["128x1", "256x1", "512x1", "256x4", "256x16"])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--precision", default="auto")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        size, batch = (int(v) for v in args.child.split("x"))
        return child(size, batch, args.steps, args.warmup, args.precision)
    print(f"pix2pix scaling, default path (--precision={args.precision}); {os.cpu_count()} CPUs; "
          f"{args.steps} timed steps after {args.warmup} warm-up, one process per setting")
    print(f"{'setting':>8s} {'policy':>15s} {'params':>12s} {'s/step':>8s} {'images/s':>9s} "
          f"{'CPU s/step':>10s} {'images/CPU s':>12s} {'peak RSS':>9s} {'load':>5s}")
    for setting in args.settings:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child", setting,
                                 "--steps", str(args.steps), "--warmup", str(args.warmup),
                                 "--precision", args.precision],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status:
            print(f"{setting:>8s} failed (status {status}) after {time.perf_counter() - start:.0f} s")
            continue
        row = json.loads(out.strip().splitlines()[-1])
        batch = int(setting.split("x")[1])
        print(f"{setting:>8s} {row['policy']:>15s} {row['params']:>12,} {row['s_per_step']:8.3f} "
              f"{batch / row['s_per_step']:9.2f} {row['cpu_s_per_step']:10.3f} "
              f"{batch / row['cpu_s_per_step']:12.2f} {usage.ru_maxrss / 1024 ** 2:7.2f} GiB "
              f"{os.getloadavg()[0]:5.1f}", flush=True)


if __name__ == "__main__":
    main()
