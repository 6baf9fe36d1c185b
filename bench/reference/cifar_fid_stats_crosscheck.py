#!/usr/bin/env python3
"""Checks `rgan eval cifar`'s reference statistics against pytorch-fid's own pipeline.

pytorch-fid's `InceptionV3([3])` (its defaults: bilinear resize to 299, inputs in [0, 1] mapped to
[-1, 1]), with the weights rgan reads, on the images of CIFAR-10 binary files; mean and `np.cov`
as pytorch-fid's `calculate_activation_statistics`; then compares with the `.npz` rgan wrote:

    rgan eval cifar --checkpoint RUN --data-dir DIR --reference-stats stats.npz --num 100
    python bench/reference/cifar_fid_stats_crosscheck.py --data-dir DIR --stats stats.npz
"""
import argparse
import glob
import os

import numpy as np
import torch
from pytorch_fid_weights import DEFAULT_WEIGHTS, inception_v3
from pytorch_fid.fid_score import calculate_frechet_distance


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a folder of data_batch_*.bin")
    parser.add_argument("--stats", required=True, help="the .npz rgan wrote")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    args = parser.parse_args()
    model = inception_v3(args.weights)
    files = sorted(glob.glob(os.path.join(args.data_dir, "data_batch_*.bin")))
    records = np.concatenate([np.fromfile(f, dtype=np.uint8).reshape(-1, 3073) for f in files])
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    activations = []
    with torch.no_grad():
        for i in range(0, len(images), 50):
            out = model(torch.from_numpy(images[i:i + 50]))[0]
            activations.append(out.squeeze(-1).squeeze(-1).numpy().astype(np.float64))
    a = np.concatenate(activations)
    mu, sigma = a.mean(0), np.cov(a, rowvar=False)
    theirs = np.load(args.stats)
    print(f"{len(a)} images; mu: max |difference| {np.abs(mu - theirs['mu']).max():.3g} "
          f"(largest |mu| {np.abs(mu).max():.3g}); sigma: max |difference| "
          f"{np.abs(sigma - theirs['sigma']).max():.3g} (largest |sigma| {np.abs(sigma).max():.3g}); "
          f"FID between the two: {calculate_frechet_distance(mu, sigma, theirs['mu'], theirs['sigma']):.3g}")


if __name__ == "__main__":
    main()
