#!/usr/bin/env python3
"""Does TF-GAN's MNIST GAN collapse in PyTorch too with InfoGAN's losses and learning rates?

The networks of `torch_mnist_step.py` (TF-GAN's MNIST generator; spectrally normalized
discriminator with batch norm after its dense 1024 layer), Glorot-uniform kernels and zero
biases as TF, modified (non-saturating) losses with the discriminator's label smoothing 0.25,
Adam β1 0.5, joint updates as TF-GAN's MNIST example, batch 32 of real MNIST.

    python torch_mnist_collapse_probe.py --glr 1e-4 --dlr 1e-4            # collapses (checkerboard)
    python torch_mnist_collapse_probe.py --glr 1e-4 --dlr 1e-4 --dbn 0    # no D batch norm: digits

Prints losses and the generated batch's per-pixel standard deviation every 25 steps (near 0
means every image is the same) and writes 6×6 grids at step 150 and the last step.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
from torch import nn
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mnist_step import Generator, Discriminator
p = argparse.ArgumentParser()
p.add_argument("--glr", type=float, default=1e-4); p.add_argument("--dlr", type=float, default=1e-4)
p.add_argument("--steps", type=int, default=300); p.add_argument("--seed", type=int, default=0)
p.add_argument("--joint", type=int, default=1, help="joint updates (1, TF-GAN MNIST) or sequential (0)")
p.add_argument("--out", default="probe"); p.add_argument("--dbn", type=int, default=1, help="batch norm in D (1) or not (0)")
p.add_argument("--data-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/datasets/mnist"))
a = p.parse_args()
torch.manual_seed(a.seed); torch.set_num_threads(1)
with gzip.open(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz")) as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
x = torch.tensor((x.astype(np.float32) - 127.5) / 127.5)
g, d = Generator(64), Discriminator(batch_norm=bool(a.dbn))
for m in list(g.modules()) + list(d.modules()):
    if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
        nn.init.xavier_uniform_(w)
        if m.bias is not None: nn.init.zeros_(m.bias)
go = torch.optim.Adam(g.parameters(), lr=a.glr, betas=(0.5, 0.999), eps=1e-8)
do = torch.optim.Adam(d.parameters(), lr=a.dlr, betas=(0.5, 0.999), eps=1e-8)
bce = nn.functional.binary_cross_entropy_with_logits
B = 32; perm = torch.randperm(len(x)); pos = 0
fixed = torch.randn(36, 64)
def save(step):
    with torch.no_grad(): im = g(fixed)
    grid = im.view(6, 6, 28, 28).permute(0, 2, 1, 3).reshape(168, 168)
    arr = ((grid.numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + arr[i].tobytes() for i in range(168))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 168, 168, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(f"{a.out}_{step}.png", "wb").write(png)
for step in range(1, a.steps + 1):
    if pos + B > len(x): perm = torch.randperm(len(x)); pos = 0
    real = x[perm[pos:pos + B]]; pos += B
    z = torch.randn(B, 64)
    fake = g(z)
    dr, df_ = d(real), d(fake.detach() if not a.joint else fake)
    d_loss = bce(dr, torch.full_like(dr, 0.875)) + bce(df_, torch.zeros_like(df_))
    if a.joint:
        # joint: both gradients from the same forward, before either update
        g_logits = df_
        g_loss = bce(g_logits, torch.ones_like(g_logits))
        gg = torch.autograd.grad(g_loss, list(g.parameters()), retain_graph=True)
        dg = torch.autograd.grad(d_loss, list(d.parameters()))
        for p_, gr in zip(g.parameters(), gg): p_.grad = gr
        for p_, gr in zip(d.parameters(), dg): p_.grad = gr
        go.step(); do.step()
    else:
        do.zero_grad(); d_loss.backward(); do.step()
        go.zero_grad(); gl = d(g(torch.randn(B, 64))); g_loss = bce(gl, torch.ones_like(gl)); g_loss.backward(); go.step()
    if step % 25 == 0:
        with torch.no_grad(): s = fake.std(0).mean().item()
        print(json.dumps({"step": step, "d": round(d_loss.item(), 4), "g": round(g_loss.item(), 4), "fake_std_over_batch": round(s, 4), "d_real": round(torch.sigmoid(dr).mean().item(), 3), "d_fake": round(torch.sigmoid(df_).mean().item(), 3)}), flush=True)
    if step in (150, a.steps): save(step)
