r"""pix2pix train step: the library's default path vs PyTorch on the same CPU.

PyTorch is *not* a dependency of the package. Run this with a separate venv that
holds the CPU wheel and sees the project's packages (BUILD.md "Performance")::

  python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
  echo "$PWD/.venv/lib/python3.11/site-packages" \
      > /tmp/torchvenv/lib/python3.11/site-packages/zz_project.pth
  PYTHONPATH=$PWD /tmp/torchvenv/bin/python benchmarks/pix2pix_torch.py

The PyTorch side re-types the networks of junyanz/pytorch-CycleGAN-and-pix2pix
(``networks.py``: ``UnetGenerator`` with ``num_downs=8`` = unet_256, ngf 64,
BatchNorm, dropout in the three innermost decoder blocks; ``NLayerDiscriminator``
n_layers 3 = 70x70 PatchGAN, ndf 64) and the pix2pix step of ``pix2pix_model.py``
with the tutorial-equivalent order (G forward once; D loss = half the BCE-with-logits
on real and detached fake; G loss = BCE on D(fake) + 100 L1; Adam 2e-4, betas
(0.5, 0.999)). Settings timed (``--torch_settings``):

* ``fp32`` -- float32, contiguous NCHW;
* ``fp32_cl`` -- float32, ``channels_last`` tensors and weights (oneDNN's NHWC);
* ``bf16`` -- ``torch.autocast("cpu", dtype=torch.bfloat16)`` (AMX where present),
  ``channels_last``;
* a ``_shared`` suffix (``fp32_cl_shared``) takes the step in the library's order
  instead of junyanz's: D runs on the generated pair once, and both gradients come
  from that shared forward pass with the start-of-step weights (two
  ``torch.autograd.grad`` calls, then both Adam updates), so PyTorch does exactly
  the library's arithmetic (junyanz's order runs D on the generated pair a second
  time, after D's update, for G's loss: one more D forward per step);
* a ``_compile`` suffix wraps both networks in ``torch.compile`` (TorchInductor's
  CPU code generation, forward and backward; compiled during the warm-up steps,
  which are not timed);
* a ``_tN`` suffix (``fp32_cl_t1``) runs that setting with ``torch.set_num_threads(N)``
  (default: PyTorch's own, one per core). On a shared machine OpenMP's barriers
  wait for descheduled threads, so fewer threads can be PyTorch's best setting.

Suffixes combine, in any order (``fp32_cl_shared_compile``).

All run in this one process in alternating rounds with the library's default path
(``tfgan_pipeline``: ``--precision=auto``, fused Adam, ``model.fit``); the summary
gives each one's median s/step and the library's speed-up over the fastest PyTorch
setting.

  .venv/bin/python benchmarks/pix2pix_torch.py [--steps 12] [--rounds 4] [--warmup 2]
      [--torch_settings fp32 fp32_cl bf16 fp32_shared fp32_cl_shared_compile ...]
"""

import argparse
import os
import re
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import pix2pix_step  # noqa: E402


class UnetBlock(nn.Module):
    """junyanz ``UnetSkipConnectionBlock``: down, submodule, up, concatenated skip."""

    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False,
                 innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        input_nc = outer if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False)
        downrelu, downnorm = nn.LeakyReLU(0.2, True), nn.BatchNorm2d(inner)
        uprelu, upnorm = nn.ReLU(True), nn.BatchNorm2d(outer)
        if outermost:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            model = [downconv, sub, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
            model = ([downrelu, downconv, downnorm, sub, uprelu, upconv, upnorm]
                     + ([nn.Dropout(0.5)] if dropout else []))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def unet_256(ngf=64, num_downs=8):
    block = UnetBlock(ngf * 8, ngf * 8, innermost=True)
    for _ in range(num_downs - 5):
        block = UnetBlock(ngf * 8, ngf * 8, sub=block, dropout=True)
    block = UnetBlock(ngf * 4, ngf * 8, sub=block)
    block = UnetBlock(ngf * 2, ngf * 4, sub=block)
    block = UnetBlock(ngf, ngf * 2, sub=block)
    return UnetBlock(3, ngf, input_nc=3, sub=block, outermost=True)


def patchgan_70(input_nc=6, ndf=64):
    layers = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in (1, 2):
        prev, mult = mult, min(2 ** n, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(ndf * mult, ndf * 8, 4, 1, 1, bias=False), nn.BatchNorm2d(ndf * 8),
               nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 8, 1, 4, 1, 1)]
    return nn.Sequential(*layers)


def _init(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


_SETTING = re.compile(r"^(fp32|fp32_cl|bf16)((?:_shared|_compile|_t[0-9]+)*)$")


def parse_setting(setting):
    """``fp32_cl_shared_t1`` -> ``("fp32_cl", shared, compiled, threads or None)``."""
    match = _SETTING.match(setting)
    if not match:
        raise ValueError(f"unknown --torch_settings entry {setting!r}: fp32, fp32_cl or bf16, "
                         "then any of _shared, _compile, _tN")
    suffixes = match.group(2).split("_")[1:]
    threads = [int(x[1:]) for x in suffixes if x.startswith("t")]
    return (match.group(1), "shared" in suffixes, "compile" in suffixes,
            threads[0] if threads else None)


def _setting_arg(text):
    try:
        parse_setting(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


class TorchRunner(pix2pix_step.TimedRunner):
    def __init__(self, setting, size, batch):
        super().__init__({"label": f"PyTorch {torch.__version__} {setting}"})
        setting, self.shared, compiled, threads = parse_setting(setting)
        self.threads = threads or torch.get_num_threads()
        self.netG, self.netD = unet_256(), patchgan_70()
        self.netG.apply(_init)
        self.netD.apply(_init)
        self.params = sum(p.numel() for m in (self.netG, self.netD) for p in m.parameters())
        fmt = torch.channels_last if setting in ("fp32_cl", "bf16") else torch.contiguous_format
        self.netG.to(memory_format=fmt)
        self.netD.to(memory_format=fmt)
        self.bf16 = setting == "bf16"
        # The modules keep their parameters; the compiled wrappers only run them.
        self.G, self.D = ((torch.compile(self.netG), torch.compile(self.netD)) if compiled
                          else (self.netG, self.netD))
        self.a, self.b = (torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
                          for x in batch)
        self.optG = torch.optim.Adam(self.netG.parameters(), 2e-4, betas=(0.5, 0.999))
        self.optD = torch.optim.Adam(self.netD.parameters(), 2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def step(self):
        if not self.shared:
            return self.junyanz_step()
        # The shared step runs D's compiled backward twice (retain_graph), which a
        # compiled backward with donated buffers refuses; they are off for this one only.
        with torch._functorch.config.patch(donated_buffer=False):
            return self.shared_step()

    def _d_loss(self, pred_real, pred_fake):
        pred_real, pred_fake = pred_real.float(), pred_fake.float()
        return 0.5 * (self.bce(pred_fake, torch.zeros_like(pred_fake))
                      + self.bce(pred_real, torch.ones_like(pred_real)))

    def _g_loss(self, pred_fake, fake):
        pred_fake = pred_fake.float()
        return self.bce(pred_fake, torch.ones_like(pred_fake)) + 100 * torch.mean(
            torch.abs(fake.float() - self.b))

    def shared_step(self):
        """The library's order: one D forward on the generated pair, both gradients from it."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            fake = self.G(self.a)
            pred_fake = self.D(torch.cat([self.a, fake], 1))
            pred_real = self.D(torch.cat([self.a, self.b], 1))
            loss_d, loss_g = self._d_loss(pred_real, pred_fake), self._g_loss(pred_fake, fake)
        d_params, g_params = list(self.netD.parameters()), list(self.netG.parameters())
        d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(loss_g, g_params)
        for params, grads in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(params, grads):
                p.grad = g
        self.optD.step()
        self.optG.step()
        return loss_d.item()

    def junyanz_step(self):
        """junyanz's order: D's update first, then D runs again on the generated pair for G."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            fake = self.G(self.a)
            pred_fake = self.D(torch.cat([self.a, fake.detach()], 1))
            pred_real = self.D(torch.cat([self.a, self.b], 1))
            loss_d = self._d_loss(pred_real, pred_fake)
        self.optD.zero_grad(set_to_none=True)
        loss_d.backward()
        self.optD.step()
        for p in self.netD.parameters():
            p.requires_grad_(False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss_g = self._g_loss(self.D(torch.cat([self.a, fake], 1)), fake)
        self.optG.zero_grad(set_to_none=True)
        loss_g.backward()
        self.optG.step()
        for p in self.netD.parameters():
            p.requires_grad_(True)
        return loss_d.item()

    def steps(self, n):
        default_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return pix2pix_step.time_calls(self.step, n)
        finally:
            torch.set_num_threads(default_threads)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--torch_settings", nargs="+", type=_setting_arg,
                   default=["fp32", "fp32_cl", "bf16"])
    args = p.parse_args()
    rng = np.random.default_rng(0)
    shape = (1, args.image_size, args.image_size, 3)
    batch = tuple(rng.uniform(-1, 1, shape).astype("float32") for _ in range(2))
    torch.manual_seed(0)
    library = pix2pix_step.Runner(pix2pix_step.parse_variant("library"), args, batch)
    runners = [library] + [TorchRunner(s, args.image_size, batch) for s in args.torch_settings]
    load = pix2pix_step.alternate_rounds(runners, args.steps, args.rounds, args.warmup)
    print(f"pix2pix {args.image_size}x{args.image_size}, batch 1; {pix2pix_step.cpu_summary()}; "
          f"torch default threads {torch.get_num_threads()}; {args.steps} timed steps each in "
          f"{args.rounds} alternating rounds; 1-min load average {min(load):.1f}-{max(load):.1f}")
    meds = {r.spec["label"]: statistics.median(r.times) for r in runners}
    for r in runners:
        print(r.line(48))
    best = min((m, k) for k, m in meds.items() if k.startswith("PyTorch"))
    print(f"library default vs fastest PyTorch setting ({best[1]}): "
          f"x{best[0] / meds[library.spec['label']]:.2f}")


if __name__ == "__main__":
    main()
