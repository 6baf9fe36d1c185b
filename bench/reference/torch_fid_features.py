#!/usr/bin/env python3
"""pytorch-fid reference for `rgan bench fid-features`: pool3 features of pytorch-fid's
`InceptionV3([3])` (the FID Inception network), on random network inputs [N, 3, 299, 299] in
[-1, 1] (its own resize and normalization turned off, as rgan's benchmark times the network only).

The weights come from the same safetensors file rgan reads (pytorch-fid's `pt_inception` weights
without the unused 1008-way classifier), so nothing is downloaded.

Prints one JSON line: {"ms_per_iter": median, "iters": N, "images_per_sec": ..., "peak_rss_mb": ...}.
"""
import argparse
import json
import resource
import statistics
import time

import torch
from pytorch_fid_weights import DEFAULT_WEIGHTS, inception_v3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()

    model = inception_v3(args.weights, resize_input=False, normalize_input=False)

    torch.manual_seed(0)
    images = torch.rand(args.batch_size, 3, 299, 299) * 2 - 1
    times = []
    with torch.no_grad():
        for i in range(args.warmup + args.iters):
            start = time.perf_counter()
            features = model(images)[0]
            assert features.shape == (args.batch_size, 2048, 1, 1)
            if i >= args.warmup:
                times.append((time.perf_counter() - start) * 1e3)
    ms = statistics.median(times)
    print(json.dumps({
        "impl": "pytorch-fid",
        "ms_per_iter": ms,
        "iters": args.iters,
        "images_per_sec": args.batch_size / (ms * 1e-3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
