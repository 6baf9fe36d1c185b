#!/usr/bin/env python3
"""PyTorch reference for `rgan bench mnist-step` / `rgan bench wgan-gp-step`.

TF-GAN's MNIST GAN iteration (reference §2.1): generator z(64) → dense 1024 → BN → ReLU →
dense 7·7·128 → BN → ReLU → deconv 64 k4 s2 → BN → ReLU → deconv 32 k4 s2 → BN → ReLU →
conv 1 k4 → tanh; discriminator SN-conv 64 k4 s2 → LReLU(0.01) → SN-conv 128 k4 s2 → LReLU →
SN-dense 1024 (no bias) → BN → LReLU → dense 1. Dense layers have no bias, convolutions do;
BN momentum 0.999 (TF convention), ε 1e-3; spectral norm with one power iteration per forward.

One iteration = one discriminator step (sigmoid cross-entropy, TF-GAN's one-sided label
smoothing 0.25: real target 1·(1−0.25) + 0.5·0.25 = 0.875), then one generator step (modified
loss) through the discriminator with its weights frozen (no weight gradients). Adam β1 0.5,
lr 1e-3 (G) / 1e-4 (D). Batch 32, random inputs, float32.

`--wgan-gp`: the critic without batch norm, Wasserstein losses, gradient penalty λ = 10 by double
backprop, Adam 1e-4 / 1e-4 with β = (0.5, 0.9). With `--compile`, every pass but the penalty's
is compiled (torch.compile's AOT autograd does not support double backward).

Prints one JSON line: {"ms_per_iter": median, "iters": N, "gflops": ..., "peak_rss_mb": ...}.
"""
import argparse
import json
import resource

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from timing import median_ms

GFLOP_PER_ITER = 11.72  # by layer count, batch 32 (rgan::bench::mnist_step_flops)


def bn1d(n):
    return nn.BatchNorm1d(n, eps=1e-3, momentum=0.001)


def bn2d(n):
    return nn.BatchNorm2d(n, eps=1e-3, momentum=0.001)


class Generator(nn.Module):
    def __init__(self, noise_dims=64):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(noise_dims, 1024, bias=False), bn1d(1024), nn.ReLU(),
            nn.Linear(1024, 7 * 7 * 128, bias=False), bn1d(7 * 7 * 128), nn.ReLU(),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), bn2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), bn2d(32), nn.ReLU(),
            nn.ZeroPad2d((1, 2, 1, 2)),  # TF 'same' for a 4×4 kernel at stride 1
            nn.Conv2d(32, 1, 4), nn.Tanh(),
        )

    def forward(self, z):
        return self.conv(self.fc(z).view(-1, 128, 7, 7))


class Discriminator(nn.Module):
    def __init__(self, batch_norm=True):
        super().__init__()
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(1, 64, 4, stride=2, padding=1)), nn.LeakyReLU(0.01),
            spectral_norm(nn.Conv2d(64, 128, 4, stride=2, padding=1)), nn.LeakyReLU(0.01),
            nn.Flatten(),
            spectral_norm(nn.Linear(7 * 7 * 128, 1024, bias=False)),
            bn1d(1024) if batch_norm else nn.Identity(), nn.LeakyReLU(0.01),
            nn.Linear(1024, 1),
        )

    def forward(self, x):
        return self.body(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks")
    parser.add_argument("--wgan-gp", action="store_true", help="the WGAN-GP iteration")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, noise_dims = args.batch_size, 64
    g, d = Generator(noise_dims), Discriminator(batch_norm=not args.wgan_gp)
    g.train()
    d.train()
    if args.wgan_gp:
        g_opt = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.9), eps=1e-8)
        d_opt = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.9), eps=1e-8)
    else:
        g_opt = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999), eps=1e-8)
        d_opt = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.999), eps=1e-8)
    gf, df = (torch.compile(g), torch.compile(d)) if args.compile else (g, d)
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    bce = nn.functional.binary_cross_entropy_with_logits
    real_target = torch.full((batch, 1), 1.0 * (1 - 0.25) + 0.5 * 0.25)
    zeros, ones = torch.zeros(batch, 1), torch.ones(batch, 1)

    def iteration():
        with torch.no_grad():
            fake = gf(torch.randn(batch, noise_dims))
        d_opt.zero_grad(set_to_none=True)
        if args.wgan_gp:
            d_loss = df(fake).mean() - df(real).mean()
            alpha = torch.rand(batch, 1, 1, 1)
            mix = (real + alpha * (fake - real)).requires_grad_(True)
            # torch.compile's AOT autograd has no double backward: the penalty's pass is eager.
            (grad,) = torch.autograd.grad(d(mix).sum(), mix, create_graph=True)
            norm = grad.flatten(1).norm(dim=1)
            d_loss = d_loss + 10.0 * ((norm - 1) ** 2).mean()
        else:
            d_loss = bce(df(real), real_target) + bce(df(fake), zeros)
        d_loss.backward()
        d_opt.step()

        for p in d.parameters():
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        logits = df(gf(torch.randn(batch, noise_dims)))
        g_loss = -logits.mean() if args.wgan_gp else bce(logits, ones)
        g_loss.backward()
        g_opt.step()
        for p in d.parameters():
            p.requires_grad_(True)
        return d_loss.item(), g_loss.item()

    ms = median_ms(iteration, args.warmup, args.iters)
    name = "torch-compile" if args.compile else "torch-eager"
    print(json.dumps({
        "impl": name + ("-wgan-gp" if args.wgan_gp else ""),
        "ms_per_iter": ms,
        "iters": args.iters,
        "gflops": GFLOP_PER_ITER * batch / 32 / (ms * 1e-3),
        "batch_size": batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
