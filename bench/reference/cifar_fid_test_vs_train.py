#!/usr/bin/env python3
"""pytorch-fid's FID of CIFAR-10's test set against its training set, on the same image files
and with the same weights as rgan, for issue 27's cross-check:

    bench/.venv/bin/python bench/reference/cifar_fid_test_vs_train.py \
        --data-dir ../shared/datasets/cifar10 --out-dir /tmp/fid-check
    rgan eval fid --real ../shared/datasets/cifar10/test --fake /tmp/fid-check/train.npz --json
    rgan eval fid --real ../shared/datasets/cifar10/test --fake RGAN_TRAIN_STATS.npz --json

pytorch-fid itself, unchanged: `calculate_activation_statistics` over `ImagePathDataset` (PIL
decodes each file, `ToTensor` scales to [0, 1]), `InceptionV3([3])` with its default resize
(bilinear to 299 × 299, `align_corners=False`) and normalisation, and
`calculate_frechet_distance`. pytorch-fid lists only the files directly in a folder, so the
class folders are first linked into one flat folder per split (`<class>_<name>`); the order of
the files does not change the statistics beyond rounding.

Writes train.npz and test.npz (pytorch-fid's `mu`, `sigma`) to --out-dir and prints one JSON
line: {"fid": ..., "train_images": ..., "test_images": ..., "seconds": ...}.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from pytorch_fid_weights import DEFAULT_WEIGHTS, inception_v3
from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance


def flat_folder(split_dir, out):
    """Links every image of split_dir's class folders into `out`, once; returns the files."""
    os.makedirs(out, exist_ok=True)
    files = []
    for cls in sorted(os.listdir(split_dir)):
        cls_dir = os.path.join(split_dir, cls)
        if not os.path.isdir(cls_dir):
            continue
        for name in sorted(os.listdir(cls_dir)):
            if not name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            link = os.path.join(out, f"{cls}_{name}")
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(cls_dir, name)), link)
            files.append(link)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="CIFAR-10 as train/<class>/*.jpg and test/<class>/*.jpg")
    parser.add_argument("--out-dir", required=True, help="where the flat folders and the .npz files go")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = inception_v3(args.weights)
    started = time.time()
    stats, counts = {}, {}
    for split in ("train", "test"):
        files = flat_folder(os.path.join(args.data_dir, split), os.path.join(args.out_dir, split))
        counts[split] = len(files)
        mu, sigma = calculate_activation_statistics(files, model, args.batch_size, 2048, "cpu", num_workers=0)
        np.savez(os.path.join(args.out_dir, f"{split}.npz"), mu=mu, sigma=sigma)
        stats[split] = (mu, sigma)
    fid = calculate_frechet_distance(*stats["test"], *stats["train"])
    print(json.dumps({"fid": float(fid), "train_images": counts["train"], "test_images": counts["test"],
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
