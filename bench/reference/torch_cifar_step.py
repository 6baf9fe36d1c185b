#!/usr/bin/env python3
"""PyTorch reference for `rgan bench cifar-step`.

TF-GAN's CIFAR-10 DCGAN (examples/cifar, reference §2.3), unconditional, as rgan's
`recipes::cifar` builds it: generator z(64) → dense 4096 → BN → ReLU → reshape 256×4×4 →
deconv 128 k5 s2 → BN → ReLU → deconv 64 k4 s2 → BN → ReLU → deconv 3 k4 s2 → tanh (32×32×3);
discriminator conv 64 k5 s2 → LReLU(0.2) → conv 128 k5 s2 → BN → LReLU → conv 256 k5 s2 → BN →
LReLU → flatten 4096 → dense 1. Layers followed by batch norm have no bias, the others do.
Kernels are truncated normals of deviation 0.02 (cut at two deviations), biases 0; BN momentum
0.9 in TF's convention (0.1 in PyTorch's), ε 1e-5. Every layer pads as TF's `padding='same'`:
a 5×5 stride-2 convolution pads one pixel before and two after (`F.pad`, not PyTorch's
symmetric padding), and the 5×5 transposed convolution is TF's `conv2d_transpose` (PyTorch's
with padding 1, less its last row and column); the 4×4 ones are symmetric.

One iteration = one global step of TF-GAN's sequential schedule, as `rgan train cifar` runs it:
a generator update (loss −mean D(G(z)), through the discriminator with its weights frozen, so no
discriminator weight gradients), then a discriminator update on a fresh G(z): Wasserstein loss
mean D(G(z)) − mean D(x) plus the gradient penalty of weight 1 (TF-GAN's: per-example
α ~ U[0, 1), slopes sqrt(Σ grad² + 1e-10) at real + α (fake − real), mean (slopes − 1)²) by
double backprop. Adam 2e-4 for both, β = (0.5, 0.999), ε 1e-8. Batch 32, random inputs,
float32. With `--compile`, every pass but the penalty's is compiled (torch.compile's AOT
autograd does not support double backward).

`--check FILE` (the file `rgan bench cifar-step --write-check DIR` writes, DIR/cifar_step_check.npz,
at the same batch size): before timing, loads rgan's initial weights, real batch, noise and
penalty weights, runs the same iteration (compiled or not) for the two recorded steps, and
compares the generator loss, the discriminator loss and the penalty of each step with rgan's,
as a fraction of the step's largest loss (the discriminator loss is a difference of terms of
that size and can be near 0). It prints them (on stderr) and exits with status 1 when one
differs by more than its tolerance:
- the first generator loss, the only one before any update (the same inputs and weights through
  both networks' forward passes): --check-rtol, 1e-4; it agrees to about 1e-7;
- every other loss, after one or more Adam updates: --check-rtol-later, 2e-2; they agree to
  1e-7–1e-3. No two float32 implementations agree closer: Adam's first update moves every
  weight by ±lr whatever the size of its gradient, so the float32 rounding of near-zero
  gradients flips whole steps (this script in float32 and in float64 differ by up to 1e-3 too).
  A wrong discriminator update (none, none of the penalty's gradient, half the learning rate)
  moves one of the second step's losses by 0.2 to 2 of the largest.
The timing then goes on from the checked networks.

Prints one JSON line: {"ms_per_iter": median, "iters": N, "gflops": ..., "peak_rss_mb": ...}.
"""
import argparse
import json
import resource
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from step_check import compare_recorded_losses
from timing import median_ms

GFLOP_PER_ITER = 19.82  # by layer count, batch 32 (rgan::bench::cifar_step_flops)
NOISE_DIMS = 64
GP_WEIGHT = 1.0


def bn1d(n):
    return nn.BatchNorm1d(n, eps=1e-5, momentum=0.1)


def bn2d(n):
    return nn.BatchNorm2d(n, eps=1e-5, momentum=0.1)


def tf_init(module):
    """TF-GAN's initialization: truncated-normal kernels (σ 0.02, cut at 2σ), zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.trunc_normal_(layer.weight, std=0.02, a=-0.04, b=0.04)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def same_pad(x):
    """TF's 'same' padding of a 5×5 stride-2 convolution of an even side: 1 before, 2 after."""
    return F.pad(x, (1, 2, 1, 2))


class Generator(nn.Module):
    # Attribute names are rgan's field names (`--check` loads rgan's weights by them).
    def __init__(self, noise_dims=NOISE_DIMS):
        super().__init__()
        self.project = nn.Linear(noise_dims, 4 * 4 * 256, bias=False)
        self.project_bn = bn1d(4 * 4 * 256)
        self.deconv1 = nn.ConvTranspose2d(256, 128, 5, stride=2, padding=1, bias=False)
        self.bn1 = bn2d(128)
        self.deconv2 = nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False)
        self.bn2 = bn2d(64)
        self.output = nn.ConvTranspose2d(64, 3, 4, stride=2, padding=1)
        tf_init(self)

    def forward(self, z):
        x = F.relu(self.project_bn(self.project(z))).view(-1, 256, 4, 4)
        # TF's conv2d_transpose 'same' 4 → 8 with a 5×5 kernel crops 1 before and 2 after.
        x = F.relu(self.bn1(self.deconv1(x)[:, :, :-1, :-1]))
        x = F.relu(self.bn2(self.deconv2(x)))
        return torch.tanh(self.output(x))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 5, stride=2)
        self.conv2 = nn.Conv2d(64, 128, 5, stride=2, bias=False)
        self.bn2 = bn2d(128)
        self.conv3 = nn.Conv2d(128, 256, 5, stride=2, bias=False)
        self.bn3 = bn2d(256)
        self.output = nn.Linear(4 * 4 * 256, 1)
        tf_init(self)

    def forward(self, x):
        x = F.leaky_relu(self.conv1(same_pad(x)), 0.2)
        x = F.leaky_relu(self.bn2(self.conv2(same_pad(x))), 0.2)
        x = F.leaky_relu(self.bn3(self.conv3(same_pad(x))), 0.2)
        return self.output(x.flatten(1))


def load_rgan(module, arrays, prefix):
    """Copies rgan's tensors `prefix.<field>.<param>` (burn's layouts) into `module`: burn's
    dense weights are [in, out] (PyTorch's transposed), its convolution weights [out, in, k, k]
    and transposed-convolution weights [in, out, k, k] are PyTorch's; batch norm's gamma and
    beta are PyTorch's weight and bias."""
    state = module.state_dict()
    loaded = set()
    for key in arrays.files:
        if not key.startswith(prefix + "."):
            continue
        layer, param = key[len(prefix) + 1:].rsplit(".", 1)
        name = f"{layer}.{ {'gamma': 'weight', 'beta': 'bias'}.get(param, param) }"
        value = torch.from_numpy(np.asarray(arrays[key], dtype=np.float32))
        if isinstance(getattr(module, layer), nn.Linear) and param == "weight":
            value = value.T
        if name not in state or tuple(state[name].shape) != tuple(value.shape):
            sys.exit(f"--check: rgan's {key} {tuple(value.shape)} has no match in the PyTorch network")
        state[name] = value.contiguous()
        loaded.add(name)
    missing = [k for k in state if k not in loaded and not k.endswith("num_batches_tracked")]
    if missing:
        sys.exit(f"--check: the file has no values for {missing}")
    module.load_state_dict(state)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    parser.add_argument("--check", metavar="FILE",
                        help="first check the losses against rgan's (rgan bench cifar-step --write-check DIR)")
    parser.add_argument("--check-rtol", type=float, default=1e-4,
                        help="tolerance of the loss before any update (the first generator loss)")
    parser.add_argument("--check-rtol-later", type=float, default=2e-2,
                        help="tolerance of the losses after an Adam update (all the others)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch = args.batch_size
    g, d = Generator(), Discriminator()
    g.train()
    d.train()
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    gf, df = (torch.compile(g), torch.compile(d)) if args.compile else (g, d)

    def iteration(real, g_noise, d_noise, alpha):
        # The generator update, through the discriminator with its weights frozen.
        for p in d.parameters():
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_loss = -df(gf(g_noise)).mean()
        g_loss.backward()
        g_opt.step()
        for p in d.parameters():
            p.requires_grad_(True)

        # The discriminator update on fresh generated images, with the gradient penalty.
        with torch.no_grad():
            fake = gf(d_noise)
        d_opt.zero_grad(set_to_none=True)
        d_loss = df(fake).mean() - df(real).mean()
        mix = (real + (fake - real) * alpha.view(-1, 1, 1, 1)).requires_grad_(True)
        # torch.compile's AOT autograd has no double backward: the penalty's pass is eager.
        (grad,) = torch.autograd.grad(d(mix).sum(), mix, create_graph=True)
        slopes = torch.sqrt(grad.square().flatten(1).sum(dim=1) + 1e-10)
        penalty = ((slopes - 1.0) ** 2).mean()
        d_loss = d_loss + GP_WEIGHT * penalty
        d_loss.backward()
        d_opt.step()
        return g_loss.item(), d_loss.item(), penalty.item()

    check = None
    if args.check:
        check = run_check(args, g, d, iteration)

    real = torch.rand(batch, 3, 32, 32) * 2 - 1

    def random_iteration():
        return iteration(real, torch.randn(batch, NOISE_DIMS), torch.randn(batch, NOISE_DIMS), torch.rand(batch))

    ms = median_ms(random_iteration, args.warmup, args.iters)
    result = {
        "impl": "torch-compile" if args.compile else "torch-eager",
        "ms_per_iter": ms,
        "iters": args.iters,
        "gflops": GFLOP_PER_ITER * batch / 32 / (ms * 1e-3),
        "batch_size": batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
    }
    if check is not None:
        result["check"] = check
    print(json.dumps(result))


def run_check(args, g, d, iteration):
    """Runs the recorded steps from rgan's weights and inputs; exits 1 when a loss differs."""
    arrays = np.load(args.check)
    real = torch.from_numpy(arrays["real"].astype(np.float32))
    if real.shape[0] != args.batch_size:
        sys.exit(f"--check: {args.check} was written at batch size {real.shape[0]}, not {args.batch_size}")
    load_rgan(g, arrays, "generator")
    load_rgan(d, arrays, "discriminator")

    def run_step(k):
        losses = iteration(real, *(torch.from_numpy(arrays[n][k].astype(np.float32))
                                   for n in ("g_noise", "d_noise", "alpha")))
        return [float(x) for x in losses]

    return compare_recorded_losses(args, arrays, run_step, "torch")


if __name__ == "__main__":
    main()
