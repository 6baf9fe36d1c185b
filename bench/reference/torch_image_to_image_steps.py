#!/usr/bin/env python3
"""PyTorch reference for `rgan bench pix2pix-step|cyclegan-step|stargan-step|compression-step`.

One global step of each image-to-image example as its `rgan train` command runs it
(`rgan::bench::{pix2pix_step, cyclegan_step, stargan_step, compression_step}`), with the same
networks layer by layer (kernel sizes, strides, paddings, norms, activations, biases, channel
counts), losses, optimizer settings and update order, on fixed random images uniform in
[-1, 1], float32. Kernels of the three translation examples are N(0, 0.02²), biases 0; the
compression networks' kernels are Glorot-uniform (slim's default), biases 0. Batch norm is
PyTorch's in training mode (batch statistics; momentum 0.1, ε 1e-5 unless said), instance norm is
affine (γ 1, β 0) with ε 1e-5 and no running statistics. "k4 s2 p1" is a 4 × 4 kernel, stride 2,
zero padding 1 on every side; LReLU(a) is leaky ReLU of slope a. Adam everywhere has
β = (0.5, 0.999) and ε 1e-8 (PyTorch's own implementation, defaults otherwise). A generator
pass of a discriminator update runs under `torch.no_grad()` (rgan records it but never
differentiates it); a generator update runs through the discriminator with its weights frozen
(`requires_grad_(False)`: no discriminator weight gradients, batch norm still on batch
statistics).

- `pix2pix-step` (batch 1, 256 × 256 RGB → RGB; `Pix2PixRecipe::for_images(3, 3, 256)`,
  `train_config(100)`):
  U-Net generator, 8 levels of filters f = 64, 128, 256, 512, 512, 512, 512, 512: encoder
  conv k4 s2 p1 3 → 64 (bias, no norm); then for levels 1–7, LReLU(0.2) → conv k4 s2 p1 (no bias,
  batch norm at levels 1–6; the innermost, 1 × 1, has a bias and no norm). Decoder from the
  innermost up: ReLU → transposed conv k4 s2 p1 (no bias) → batch norm, concatenated with the
  encoder output of its size (post-norm, pre-activation), 512 → 512, 1024 → 512 (×3),
  1024 → 256, 512 → 128, 256 → 64; then ReLU → transposed conv k4 s2 p1 128 → 3 (bias) → tanh.
  No dropout. Conditional PatchGAN on [input, judged] (6 channels): conv k4 s2 p1 6 → 64 (bias)
  → LReLU(0.2) → conv k4 s2 p1 64 → 128 → BN → LReLU → conv k4 s2 p1 128 → 256 → BN → LReLU →
  conv k4 s1 p1 256 → 512 → BN → LReLU → conv k4 s1 p1 512 → 1 (bias): 30 × 30 logits (the
  inner convolutions have no bias).
  One iteration (the alternating schedule): a discriminator update — G(x) without gradients,
  D(x, y) then D(x, G(x)) as two passes, loss mean BCE(D(x, y), 1) + mean BCE(D(x, G(x)), 0)
  (label smoothing 0); then a generator update on the same pair — G(x) again, loss
  mean |y − G(x)| + 0.01 · mean BCE(D(x, G(x)), 1). Adam 2e-4 for both.
- `cyclegan-step` (batch 1, 64 × 64 RGB; `CycleGanRecipe::for_images(3)` with 3 PatchGAN layers,
  `train_config()`): two ResNet generators G: X → Y and F: Y → X: conv k7 s1 p3 3 → 64 → IN →
  ReLU → conv k3 s2 p1 64 → 128 → IN → ReLU → conv k3 s2 p1 128 → 256 → IN → ReLU → 6 residual
  blocks x + IN(conv k3 p1(ReLU(IN(conv k3 p1(x))))) at 256 → transposed conv k3 s2 p1 output
  padding 1 256 → 128 → IN → ReLU → same 128 → 64 → IN → ReLU → conv k7 s1 p3 64 → 3 (bias) →
  tanh; every convolution but the last without bias; zero padding. Two PatchGANs D_Y, D_X as
  pix2pix's but unconditional (3 input channels) with instance norm instead of batch norm
  (6 × 6 logits).
  One iteration (the sequential schedule: a generator update, then a discriminator update, each
  on the batch pair x, y): the generators' update — G(x), F(y), F(G(x)), G(F(y)); loss
  LSg(D_Y(G(x))) + LSg(D_X(F(y))) + 10 · ½ (mean |x − F(G(x))| + mean |y − G(F(y))|) with
  LSg(o) = ½ mean (o − 1)², one backward pass, both generators updated (Adam 2e-4 each); then
  the discriminators' update — G(x), F(y) without gradients, each through its half's replay pool
  (TF-GAN's `tensor_pool` of 50 whole batches: while filling it stores and returns the input;
  once full it swaps the input with a random stored batch and returns that with probability
  0.5, else the input), loss LSd(D_Y(y), D_Y(pooled G(x))) + LSd(D_X(x), D_X(pooled F(y))) with
  LSd(r, f) = ½ mean (r − 1)² + ½ mean f² (real and generated as two passes), one backward pass,
  both discriminators updated (Adam 1e-4 each).
- `stargan-step` (batch 6, 128 × 128 RGB, 5 domains, image i of domain i mod 5;
  `StarGanRecipe::for_images(3, 5, 128)`, `train_config()`): generator on the image with its
  one-hot target domain tiled as 5 more channels: conv k7 s1 p3 8 → 64 → IN → ReLU → conv k4 s2
  p1 64 → 128 → IN → ReLU → conv k4 s2 p1 128 → 256 → IN → ReLU → 6 residual blocks as CycleGAN's
  → transposed conv k4 s2 p1 256 → 128 → IN → ReLU → 128 → 64 → IN → ReLU → conv k7 s1 p3 64 → 3
  (bias) → tanh (no other biases). Discriminator: 6 × (conv k4 s2 p1, bias → LReLU(0.01)),
  3 → 64 → 128 → 256 → 512 → 1024 → 2048 (2 × 2); source head conv k3 s1 p1 2048 → 1 (no bias,
  2 × 2 logits); domain head conv k2 s1 p0 2048 → 5 (no bias).
  One iteration (the sequential schedule: 1 generator update, then 5 discriminator updates, each
  drawing fresh uniform target domains): the generator update — x' = G(x, t), the
  reconstruction G(x', c) into the source domains c, the frozen discriminator on x'; loss
  −mean src(x') + 10 · mean |x − G(x', c)| + 1 · CE(dom(x'), t); each discriminator update —
  x' = G(x, t) without gradients, D(x) and D(x') as two passes, loss mean src(x') − mean src(x)
  + 10 · GP + 1 · CE(dom(x), c), with TF-GAN's gradient penalty by double backprop through the
  source path (trunk and source head): per-example α ~ U[0, 1), slopes
  sqrt(Σ (∂ Σ src(x + α (x' − x)) / ∂ input)² + 1e-10), GP = mean (slopes − 1)². CE is the mean
  softmax cross-entropy. Adam 1e-4 for both.
- `compression-step` (batch 32, 32 × 32 RGB patches, 1230 bits, depth 64;
  `CompressionRecipe::new()`, `train_config(4000)`): encoder conv k4 s2 p1 3 → 64 (bias) →
  LReLU(0.2) → 4 × (conv k4 s2 p1, no bias → slim batch norm → LReLU(0.2)) 64 → 128 → 256 → 512 →
  1024 (1 × 1) → conv k1 1024 → 1230 (bias) → softsign; the binarizer adds uniform noise in
  [-1, 1) (fresh each update); decoder transposed conv k4 s1 p0 1230 → 512 (1 → 4) → BN → ReLU →
  transposed conv k4 s2 p1 512 → 256 → BN → ReLU → 256 → 128 → BN → ReLU → transposed conv k4 s2
  p1 128 → 64 (bias, no norm or activation) → conv k1 64 → 3 (bias) → softsign. Slim batch norm:
  momentum 0.001, ε 1e-3, a learned offset and γ fixed at 1 (not trained); layers before a norm
  have no bias. Discriminator: 4 × (reflection pad 2 → conv k4 p0, bias, strides 2, 2, 2, 1 →
  LReLU(0.2)) 3 → 64 → 128 → 256 → 512 → reflection pad 2 → conv k4 s1 512 → 1 (bias): 7 × 7
  logits; no normalization.
  One iteration (the sequential schedule: a generator update, then a discriminator update):
  the generator update — y = codec(x, noise), loss Σ |x − y| (`tf.norm(ord=1)` over the batch) +
  4000 · LSg(D(y)); then the discriminator update — y = codec(x, new noise) without gradients,
  D on the real and generated batches stacked in one pass (rgan's discriminator is
  batch-independent), loss LSd(D(x), D(y)). Adam G 1e-5, D 1e-6.

`--count-params` prints the parameter count of each network (every parameter, and those trained:
only the compression codec's fixed batch-norm γ differs) as one JSON line and exits.

Prints one JSON line: {"ms_per_iter": median, "iters": N, "gflops": null, "images_per_sec": ...,
"peak_rss_mb": ...}; images per second is the batch size over the median time, as rgan counts it.
"""
import argparse
import json
import random
import resource
import statistics

import torch
from torch import nn
from torch.nn import functional as F
from timing import times_ms

WORKLOADS = ("pix2pix-step", "cyclegan-step", "stargan-step", "compression-step")
DEFAULT_BATCH = {"pix2pix-step": 1, "cyclegan-step": 1, "stargan-step": 6, "compression-step": 32}
INIT_STD = 0.02


def normal_init(module):
    """The translation examples' initialization: N(0, 0.02²) kernels, zero biases (norms keep
    PyTorch's γ 1, β 0)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def glorot_init(module):
    """slim's default: Glorot-uniform kernels (limit sqrt(6 / (k² (c_in + c_out)))), zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def instance_norm(channels):
    return nn.InstanceNorm2d(channels, eps=1e-5, affine=True, track_running_stats=False)


def set_trainable(module, trainable):
    for p in module.parameters():
        p.requires_grad_(trainable)


def adam(modules, lr):
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), eps=1e-8)


# ---------------------------------------------------------------------------------------------
# pix2pix


class UNetGenerator(nn.Module):
    """rgan's `UNetGenerator` (`UNetGeneratorConfig` depth 8, base 64, max 512 at 256 × 256)."""

    def __init__(self, in_channels=3, out_channels=3, depth=8, base=64, max_filters=512):
        super().__init__()
        f = [min(base << i, max_filters) for i in range(depth)]
        self.depth = depth
        self.encoders = nn.ModuleList(
            [nn.Conv2d(in_channels, f[0], 4, 2, 1, bias=True)]
            + [nn.Conv2d(f[i - 1], f[i], 4, 2, 1, bias=(i == depth - 1)) for i in range(1, depth)])
        self.encoder_norms = nn.ModuleList([nn.BatchNorm2d(f[i]) for i in range(1, depth - 1)])
        self.decoders = nn.ModuleList(
            [nn.ConvTranspose2d(2 * f[0], out_channels, 4, 2, 1, bias=True)]
            + [nn.ConvTranspose2d(f[i] if i == depth - 1 else 2 * f[i], f[i - 1], 4, 2, 1, bias=False)
               for i in range(1, depth)])
        self.decoder_norms = nn.ModuleList([nn.BatchNorm2d(f[i - 1]) for i in range(1, depth)])
        normal_init(self)

    def forward(self, x):
        skips = [self.encoders[0](x)]
        for i in range(1, self.depth):
            y = self.encoders[i](F.leaky_relu(skips[-1], 0.2))
            skips.append(self.encoder_norms[i - 1](y) if i < self.depth - 1 else y)
        x = skips.pop()
        for i in range(self.depth - 1, 0, -1):
            y = self.decoder_norms[i - 1](self.decoders[i](F.relu(x)))
            x = torch.cat([y, skips.pop()], 1)
        return torch.tanh(self.decoders[0](F.relu(x)))


class PatchDiscriminator(nn.Module):
    """rgan's `PatchDiscriminator`: pix2pix's (batch norm, conditional) or CycleGAN's (instance
    norm) PatchGAN of `layers` stride-2 layers."""

    def __init__(self, channels=3, conditional_channels=0, base=64, layers=3, norm="batch"):
        super().__init__()
        f = [base * (1 << min(i, 3)) for i in range(layers + 1)]
        self.conditional = conditional_channels > 0
        self.convs = nn.ModuleList(
            [nn.Conv2d(channels + conditional_channels, f[0], 4, 2, 1, bias=True)]
            + [nn.Conv2d(f[i - 1], f[i], 4, 2 if i < layers else 1, 1, bias=False) for i in range(1, layers + 1)])
        make = nn.BatchNorm2d if norm == "batch" else instance_norm
        self.norms = nn.ModuleList([make(f[i]) for i in range(1, layers + 1)])
        self.output = nn.Conv2d(f[layers], 1, 4, 1, 1, bias=True)
        normal_init(self)

    def forward(self, images, condition=None):
        x = torch.cat([condition, images], 1) if self.conditional else images
        x = F.leaky_relu(self.convs[0](x), 0.2)
        for conv, norm in zip(self.convs[1:], self.norms):
            x = F.leaky_relu(norm(conv(x)), 0.2)
        return self.output(x).flatten(1)


def bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def pix2pix(batch):
    g, d = UNetGenerator(), PatchDiscriminator(3, conditional_channels=3, layers=3, norm="batch")
    g_opt, d_opt = adam([g], 2e-4), adam([d], 2e-4)
    x = torch.rand(batch, 3, 256, 256) * 2 - 1  # the generator's inputs
    y = torch.rand(batch, 3, 256, 256) * 2 - 1  # the targets (the real data)

    def iteration():
        # The discriminator update.
        with torch.no_grad():
            fake = g(x)
        d_opt.zero_grad(set_to_none=True)
        d_loss = bce(d(y, x), 1.0) + bce(d(fake, x), 0.0)
        d_loss.backward()
        d_opt.step()
        # The generator update on the same pair, through the frozen discriminator.
        set_trainable(d, False)
        g_opt.zero_grad(set_to_none=True)
        fake = g(x)
        g_loss = (y - fake).abs().mean() + 0.01 * bce(d(fake, x), 1.0)
        g_loss.backward()
        g_opt.step()
        set_trainable(d, True)
        return g_loss.item(), d_loss.item()

    return {"generator": g, "discriminator": d}, iteration


# ---------------------------------------------------------------------------------------------
# CycleGAN and StarGAN generators


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm1 = instance_norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm2 = instance_norm(channels)

    def forward(self, x):
        return x + self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))


class ResnetBody(nn.Module):
    """rgan's `ResnetBody`: `sampling` 3 (CycleGAN: 3 × 3, output padding 1 up) or 4 (StarGAN)."""

    def __init__(self, in_channels, out_channels, base=64, blocks=6, sampling=3):
        super().__init__()
        f = [base, 2 * base, 4 * base]
        out_pad = 1 if sampling == 3 else 0
        self.stem = nn.Conv2d(in_channels, f[0], 7, 1, 3, bias=False)
        self.stem_norm = instance_norm(f[0])
        self.downs = nn.ModuleList([nn.Conv2d(f[k], f[k + 1], sampling, 2, 1, bias=False) for k in range(2)])
        self.down_norms = nn.ModuleList([instance_norm(f[k + 1]) for k in range(2)])
        self.blocks = nn.Sequential(*[ResidualBlock(f[2]) for _ in range(blocks)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(f[2 - k], f[1 - k], sampling, 2, 1, output_padding=out_pad,
                                                     bias=False) for k in range(2)])
        self.up_norms = nn.ModuleList([instance_norm(f[1 - k]) for k in range(2)])
        self.output = nn.Conv2d(f[0], out_channels, 7, 1, 3, bias=True)
        normal_init(self)

    def forward(self, x):
        x = F.relu(self.stem_norm(self.stem(x)))
        for conv, norm in zip(self.downs, self.down_norms):
            x = F.relu(norm(conv(x)))
        x = self.blocks(x)
        for up, norm in zip(self.ups, self.up_norms):
            x = F.relu(norm(up(x)))
        return torch.tanh(self.output(x))


def ls_generator(outputs):
    return 0.5 * (outputs - 1.0).square().mean()


def ls_discriminator(real, generated):
    return 0.5 * (real - 1.0).square().mean() + 0.5 * generated.square().mean()


class ReplayPool:
    """TF-GAN's `tensor_pool` as rgan's `TensorPool` keeps it: whole batches (here the generated
    batch with the generator inputs it came from), stored as copies."""

    def __init__(self, size, probability, rng):
        self.size, self.probability, self.rng, self.pool = size, probability, rng, []

    def __call__(self, *values):
        stored = tuple(v.detach().clone() for v in values)
        if len(self.pool) < self.size:
            self.pool.append(stored)
            return values
        index = self.rng.randrange(len(self.pool))
        old, self.pool[index] = self.pool[index], stored
        return old if self.rng.random() < self.probability else values


def cyclegan(batch, seed):
    g_x2y, g_y2x = ResnetBody(3, 3, sampling=3), ResnetBody(3, 3, sampling=3)
    d_y, d_x = (PatchDiscriminator(3, layers=3, norm="instance") for _ in range(2))
    g_opts = [adam([g_x2y], 2e-4), adam([g_y2x], 2e-4)]
    d_opts = [adam([d_y], 1e-4), adam([d_x], 1e-4)]
    rng = random.Random(seed)
    pools = [ReplayPool(50, 0.5, random.Random(rng.random())), ReplayPool(50, 0.5, random.Random(rng.random()))]
    x = torch.rand(batch, 3, 64, 64) * 2 - 1
    y = torch.rand(batch, 3, 64, 64) * 2 - 1

    def iteration():
        # The generators' update through the frozen discriminators, one backward pass.
        set_trainable(d_y, False)
        set_trainable(d_x, False)
        for opt in g_opts:
            opt.zero_grad(set_to_none=True)
        fake_y, fake_x = g_x2y(x), g_y2x(y)
        cycle = 0.5 * ((x - g_y2x(fake_y)).abs().mean() + (y - g_x2y(fake_x)).abs().mean())
        g_loss = ls_generator(d_y(fake_y)) + ls_generator(d_x(fake_x)) + 10.0 * cycle
        g_loss.backward()
        for opt in g_opts:
            opt.step()
        set_trainable(d_y, True)
        set_trainable(d_x, True)
        # The discriminators' update on pooled generated batches, one backward pass.
        with torch.no_grad():
            fake_y, fake_x = g_x2y(x), g_y2x(y)
        seen_y, _ = pools[0](fake_y, x)
        seen_x, _ = pools[1](fake_x, y)
        for opt in d_opts:
            opt.zero_grad(set_to_none=True)
        d_loss = ls_discriminator(d_y(y), d_y(seen_y)) + ls_discriminator(d_x(x), d_x(seen_x))
        d_loss.backward()
        for opt in d_opts:
            opt.step()
        return g_loss.item(), d_loss.item()

    nets = {"generator_x2y": g_x2y, "generator_y2x": g_y2x, "discriminator_y": d_y, "discriminator_x": d_x}
    return nets, iteration


# ---------------------------------------------------------------------------------------------
# StarGAN


class StarGanGenerator(nn.Module):
    def __init__(self, channels=3, domains=5):
        super().__init__()
        self.body = ResnetBody(channels + domains, channels, sampling=4)

    def forward(self, images, targets):
        n, _, h, w = images.shape
        tiled = targets.view(n, -1, 1, 1).expand(n, targets.shape[1], h, w)
        return self.body(torch.cat([images, tiled], 1))


class StarGanDiscriminator(nn.Module):
    def __init__(self, channels=3, domains=5, image_size=128, base=64, layers=6):
        super().__init__()
        f = [base << i for i in range(layers)]
        self.convs = nn.ModuleList([nn.Conv2d(channels, f[0], 4, 2, 1, bias=True)]
                                   + [nn.Conv2d(f[i - 1], f[i], 4, 2, 1, bias=True) for i in range(1, layers)])
        self.source = nn.Conv2d(f[-1], 1, 3, 1, 1, bias=False)
        self.domain = nn.Conv2d(f[-1], domains, image_size >> layers, 1, 0, bias=False)
        normal_init(self)

    def trunk(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.01)
        return x

    def source_logits(self, x):
        """The source path alone: what the gradient penalty differentiates."""
        return self.source(self.trunk(x)).flatten(1)

    def forward(self, x):
        features = self.trunk(x)
        return self.source(features).flatten(1), self.domain(features).flatten(1)


def stargan(batch, domains=5, critic_updates=5):
    g, d = StarGanGenerator(3, domains), StarGanDiscriminator(3, domains, 128)
    g_opt, d_opt = adam([g], 1e-4), adam([d], 1e-4)
    images = torch.rand(batch, 3, 128, 128) * 2 - 1
    classes = torch.arange(batch) % domains
    labels = F.one_hot(classes, domains).float()

    def targets():
        ids = torch.randint(0, domains, (batch,))
        return ids, F.one_hot(ids, domains).float()

    def generator_update():
        ids, target = targets()
        set_trainable(d, False)
        g_opt.zero_grad(set_to_none=True)
        fake = g(images, target)
        reconstructed = g(fake, labels)
        source, domain = d(fake)
        loss = -source.mean() + 10.0 * (images - reconstructed).abs().mean() + F.cross_entropy(domain, ids)
        loss.backward()
        g_opt.step()
        set_trainable(d, True)
        return loss.item()

    def discriminator_update():
        _, target = targets()
        with torch.no_grad():
            fake = g(images, target)
        d_opt.zero_grad(set_to_none=True)
        source_real, domain_real = d(images)
        source_fake, _ = d(fake)
        alpha = torch.rand(batch, 1, 1, 1)
        mix = (images + (fake - images) * alpha).requires_grad_(True)
        (grad,) = torch.autograd.grad(d.source_logits(mix).sum(), mix, create_graph=True)
        slopes = torch.sqrt(grad.square().flatten(1).sum(dim=1) + 1e-10)
        penalty = ((slopes - 1.0) ** 2).mean()
        loss = (source_fake.mean() - source_real.mean() + 10.0 * penalty
                + F.cross_entropy(domain_real, classes))
        loss.backward()
        d_opt.step()
        return loss.item()

    def iteration():
        # The sequential schedule: the generator update, then the discriminator updates.
        g_loss = generator_update()
        d_loss = [discriminator_update() for _ in range(critic_updates)][-1]
        return g_loss, d_loss

    return {"generator": g, "discriminator": d}, iteration


# ---------------------------------------------------------------------------------------------
# Compression


def slim_batch_norm(channels):
    """slim's batch norm: TF decay 0.999 (PyTorch momentum 0.001), ε 1e-3, no scale (γ fixed 1)."""
    norm = nn.BatchNorm2d(channels, eps=1e-3, momentum=0.001)
    norm.weight.requires_grad_(False)
    return norm


class CompressionCodec(nn.Module):
    def __init__(self, patch=32, bits=1230, depth=64, channels=3):
        super().__init__()
        layers = patch.bit_length() - 1  # log2(patch)
        d, n = depth, layers - 1
        self.bits = bits
        self.encoder = nn.ModuleList([nn.Conv2d(channels, d, 4, 2, 1, bias=True)]
                                     + [nn.Conv2d(d << (i - 1), d << i, 4, 2, 1, bias=False) for i in range(1, layers)])
        self.encoder_norms = nn.ModuleList([slim_batch_norm(d << i) for i in range(1, layers)])
        self.to_bits = nn.Conv2d(d << (layers - 1), bits, 1, bias=True)
        self.decoder = nn.ModuleList(
            [nn.ConvTranspose2d(bits, d << (n - 1), 4, 1, 0, bias=False)]
            + [nn.ConvTranspose2d(d << (n - i + 1), d << (n - i), 4, 2, 1, bias=False) for i in range(2, n)]
            + [nn.ConvTranspose2d(d << 1, d, 4, 2, 1, bias=True)])
        self.decoder_norms = nn.ModuleList([slim_batch_norm(d << (n - 1))]
                                           + [slim_batch_norm(d << (n - i)) for i in range(2, n)])
        self.to_pixels = nn.Conv2d(d, channels, 1, bias=True)
        glorot_init(self)

    def forward(self, images, noise):
        n = images.shape[0]
        x = F.leaky_relu(self.encoder[0](images), 0.2)
        for conv, norm in zip(self.encoder[1:], self.encoder_norms):
            x = F.leaky_relu(norm(conv(x)), 0.2)
        codes = F.softsign(self.to_bits(x).reshape(n, self.bits))
        x = (codes + noise).reshape(n, self.bits, 1, 1)  # the training binarizer
        for conv, norm in zip(self.decoder[:-1], self.decoder_norms):
            x = F.relu(norm(conv(x)))
        return F.softsign(self.to_pixels(self.decoder[-1](x)))


class CompressionDiscriminator(nn.Module):
    def __init__(self, depth=64, channels=3):
        super().__init__()
        filters = [channels, depth, 2 * depth, 4 * depth, 8 * depth]
        self.convs = nn.ModuleList([
            nn.Conv2d(filters[i], filters[i + 1], 4, 2 if i < 3 else 1, padding=2, padding_mode="reflect", bias=True)
            for i in range(4)])
        self.logits = nn.Conv2d(8 * depth, 1, 4, 1, padding=2, padding_mode="reflect", bias=True)
        glorot_init(self)

    def forward(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return self.logits(x).flatten(1)


def compression(batch, bits=1230, weight_factor=4000.0):
    g, d = CompressionCodec(bits=bits), CompressionDiscriminator()
    g_opt, d_opt = adam([g], 1e-5), adam([d], 1e-6)
    images = torch.rand(batch, 3, 32, 32) * 2 - 1

    def noise():
        return torch.rand(batch, bits) * 2 - 1

    def iteration():
        # The generator update through the frozen discriminator.
        set_trainable(d, False)
        g_opt.zero_grad(set_to_none=True)
        decoded = g(images, noise())
        g_loss = (images - decoded).abs().sum() + weight_factor * ls_generator(d(decoded))
        g_loss.backward()
        g_opt.step()
        set_trainable(d, True)
        # The discriminator update: real and generated stacked in one pass.
        with torch.no_grad():
            decoded = g(images, noise())
        d_opt.zero_grad(set_to_none=True)
        logits = d(torch.cat([images, decoded], 0))
        d_loss = ls_discriminator(logits[:batch], logits[batch:])
        d_loss.backward()
        d_opt.step()
        return g_loss.item(), d_loss.item()

    return {"generator": g, "discriminator": d}, iteration


def build(workload, batch, seed):
    if workload == "pix2pix-step":
        return pix2pix(batch)
    if workload == "cyclegan-step":
        return cyclegan(batch, seed)
    if workload == "stargan-step":
        return stargan(batch)
    return compression(batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS, required=True)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="examples per step (default: pix2pix and CycleGAN 1, StarGAN 6, compression 32)")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    parser.add_argument("--count-params", action="store_true",
                        help="print the parameter count of each network (one JSON line) and exit")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.iters < 1:
        parser.error("--iters must be at least 1")
    batch = args.batch_size or DEFAULT_BATCH[args.workload]
    torch.manual_seed(args.seed)
    nets, iteration = build(args.workload, batch, args.seed)
    if args.count_params:
        print(json.dumps({
            "bench": args.workload,
            "params": {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()},
            "trainable": {name: sum(p.numel() for p in net.parameters() if p.requires_grad)
                          for name, net in nets.items()},
        }))
        return
    for net in nets.values():
        net.train()

    times = times_ms(iteration, args.warmup, args.iters)
    ms = statistics.median(times)
    print(json.dumps({
        "impl": "torch-eager",
        "bench": args.workload,
        "ms_per_iter": ms,
        "iters": args.iters,
        "gflops": None,
        "images_per_sec": batch / (ms * 1e-3),
        "batch_size": batch,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "times_ms": times,
    }))


if __name__ == "__main__":
    main()
