#!/usr/bin/env python3
"""pytorch-fid reference for `rgan bench fid-stats`: the Fréchet distance of two activation sets
as pytorch-fid computes it from features: `np.mean(axis=0)` and `np.cov(rowvar=False)` of each
set, then pytorch-fid's own `calculate_frechet_distance` (scipy's `sqrtm` of `sigma1 @ sigma2`).

The inputs are the float64 matrices that `rgan bench fid-stats --write-inputs DIR` writes
(DIR/activations1.npy and DIR/activations2.npy, 5000 x 2048 by default), so both sides compute
the same distance. clean-fid's `frechet_distance` is the same formula (scipy `sqrtm` of the
product), so this timing stands for it too.

Prints one JSON line: {"ms_per_iter": median, "iters": N, "fid": ..., "stats_ms": median of the
means and covariances, "frechet_ms": median of calculate_frechet_distance, "peak_rss_mb": ...}.
"""
import argparse
import json
import os
import resource
import statistics
import time
import warnings

import numpy as np
import scipy
from pytorch_fid.fid_score import calculate_frechet_distance
import pytorch_fid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", required=True, help="the folder of activations1.npy and activations2.npy")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()

    a = np.load(os.path.join(args.inputs, "activations1.npy"))
    b = np.load(os.path.join(args.inputs, "activations2.npy"))
    assert a.ndim == 2 and a.shape[1] == b.shape[1], (a.shape, b.shape)

    # pytorch-fid 0.3.0 passes `disp=False` to scipy's sqrtm, deprecated since SciPy 1.16.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    times, stats_times, frechet_times, fid = [], [], [], None
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        mu1, sigma1 = np.mean(a, axis=0), np.cov(a, rowvar=False)
        mu2, sigma2 = np.mean(b, axis=0), np.cov(b, rowvar=False)
        middle = time.perf_counter()
        fid = calculate_frechet_distance(mu1, sigma1, mu2, sigma2)
        end = time.perf_counter()
        if i >= args.warmup:
            times.append((end - start) * 1e3)
            stats_times.append((middle - start) * 1e3)
            frechet_times.append((end - middle) * 1e3)
    ms = statistics.median(times)
    print(json.dumps({
        "impl": "pytorch-fid",
        "ms_per_iter": ms,
        "iters": args.iters,
        "images_per_sec": (a.shape[0] + b.shape[0]) / (ms * 1e-3),
        "fid": float(fid),
        "stats_ms": statistics.median(stats_times),
        "frechet_ms": statistics.median(frechet_times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": f"pytorch-fid {pytorch_fid.__version__}, numpy {np.__version__}, scipy {scipy.__version__}",
    }))


if __name__ == "__main__":
    main()
