#!/usr/bin/env python3
"""Runs rgan's benchmarks and the TensorFlow / PyTorch references alternately, one process at a
time, for several rounds, and prints each one's median, the machine's CPU, and the ratio of rgan
to the fastest reference. Use `bench/run.sh`, which installs the references first.

Each benchmark process prints one JSON line; a run's time is the median of its timed iterations,
and an implementation's figure is the median of its rounds.

`fid-stats` first has rgan write its two activation sets as .npy files into a temporary folder
(`rgan bench fid-stats --write-inputs DIR`); pytorch-fid's side reads them, and the script checks
that both sides' FID values agree to 1e-6 relative.

`cifar-step` first has rgan write its initial weights, inputs and losses of two steps
(`rgan bench cifar-step --write-check DIR`, at --batch-size); in the first round each reference
runs with `--check DIR/cifar_step_check.npz`, which checks its losses against rgan's before timing
and fails the run when they differ.

`pix2pix-step`, `cyclegan-step`, `stargan-step` and `compression-step` (one global step of each
image-to-image example, at the example's own batch size: 1, 1, 6 and 32) run rgan as
`rgan bench NAME --json --iters N` and PyTorch as
`reference/torch_image_to_image_steps.py --workload NAME --iters N`, with N = --image-iters (5 by
default: a StarGAN step takes seconds); --batch-size does not apply to them. Neither side counts
their GFLOP/s (null), and nothing checks that both compute the same losses: the reference builds
the same networks, losses, optimizers and update order, and `--count-params` on it prints each
network's parameter count to compare with rgan's.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "reference")
# The image-to-image steps, each timed at its example's own batch size (rgan's and the
# reference's default).
IMAGE_STEPS = {"pix2pix-step": 1, "cyclegan-step": 1, "stargan-step": 6, "compression-step": 32}


def cpu_description():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "x86_64", ""):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                        "avx512_bf16", "amx_tile") if f in flags]
    return {"model": model, "cores": os.cpu_count(), "simd": simd}


def run(cmd, env=None):
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{out.stderr[-3000:]}\n")
        return None
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    result = json.loads(line)
    result["wall_s"] = time.time() - start
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rgan", default="target/release/rgan")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32,
                        help="images per mnist-step / wgan-gp-step / cifar-step")
    parser.add_argument("--image-iters", type=int, default=5,
                        help="timed iterations of pix2pix-step / cyclegan-step / stargan-step / compression-step")
    parser.add_argument("--fid-iters", type=int, default=5)
    parser.add_argument("--fid-stats-iters", type=int, default=3)
    parser.add_argument("--weights", default=os.environ.get("RGAN_INCEPTION_WEIGHTS",
                                                            "../shared/models/fid_inception_v3.safetensors"))
    parser.add_argument("--only", choices=["mnist-step", "wgan-gp-step", "cifar-step", *IMAGE_STEPS, "fid-features",
                                           "fid-stats"],
                        action="append")
    parser.add_argument("--json-out", help="also write every result to this file")
    parser.add_argument("--rgan-one-thread", action="store_true",
                        help="also run rgan with RAYON_NUM_THREADS=1")
    args = parser.parse_args()
    py, it = args.python, str(args.iters)
    # The GAN steps take the batch size; the FID suites have their own sizes.
    it_batch = [str(args.iters), "--batch-size", str(args.batch_size)]
    stats_dir = tempfile.mkdtemp(prefix="rgan-fid-stats-")
    check_dir = tempfile.mkdtemp(prefix="rgan-cifar-check-")
    stats_it = str(args.fid_stats_iters)
    suites = {
        "mnist-step": {
            "rgan": [args.rgan, "bench", "mnist-step", "--json", "--iters", *it_batch],
            "tf-function": [py, os.path.join(REF, "tf_mnist_step.py"), "--iters", *it_batch],
            "tf-xla": [py, os.path.join(REF, "tf_mnist_step.py"), "--xla", "--iters", *it_batch],
            "torch-eager": [py, os.path.join(REF, "torch_mnist_step.py"), "--iters", *it_batch],
            "torch-compile": [py, os.path.join(REF, "torch_mnist_step.py"), "--compile", "--iters", *it_batch],
        },
        "wgan-gp-step": {
            "rgan": [args.rgan, "bench", "wgan-gp-step", "--json", "--iters", *it_batch],
            "tf-function": [py, os.path.join(REF, "tf_mnist_step.py"), "--wgan-gp", "--iters", *it_batch],
            "tf-xla": [py, os.path.join(REF, "tf_mnist_step.py"), "--wgan-gp", "--xla", "--iters", *it_batch],
            "torch-eager": [py, os.path.join(REF, "torch_mnist_step.py"), "--wgan-gp", "--iters", *it_batch],
            # The penalty's pass stays eager: torch.compile's AOT autograd has no double backward.
            "torch-compile": [py, os.path.join(REF, "torch_mnist_step.py"), "--wgan-gp", "--compile",
                              "--iters", *it_batch],
        },
        "cifar-step": {
            "rgan": [args.rgan, "bench", "cifar-step", "--json", "--iters", *it_batch],
            "tf-function": [py, os.path.join(REF, "tf_cifar_step.py"), "--iters", *it_batch],
            "tf-xla": [py, os.path.join(REF, "tf_cifar_step.py"), "--xla", "--iters", *it_batch],
            "torch-eager": [py, os.path.join(REF, "torch_cifar_step.py"), "--iters", *it_batch],
            # As for wgan-gp-step, the penalty's pass stays eager.
            "torch-compile": [py, os.path.join(REF, "torch_cifar_step.py"), "--compile", "--iters", *it_batch],
        },
        **{name: {
            "rgan": [args.rgan, "bench", name, "--json", "--iters", str(args.image_iters)],
            "torch-eager": [py, os.path.join(REF, "torch_image_to_image_steps.py"), "--workload", name,
                            "--iters", str(args.image_iters)],
        } for name in IMAGE_STEPS},
        "fid-features": {
            "rgan": [args.rgan, "bench", "fid-features", "--json", "--iters", str(args.fid_iters), "--warmup", "1",
                     "--inception-weights", args.weights],
            "pytorch-fid": [py, os.path.join(REF, "torch_fid_features.py"), "--iters", str(args.fid_iters),
                            "--weights", args.weights],
        },
        "fid-stats": {
            "rgan": [args.rgan, "bench", "fid-stats", "--json", "--iters", stats_it, "--warmup", "1"],
            "pytorch-fid": [py, os.path.join(REF, "torch_fid_stats.py"), "--inputs", stats_dir,
                            "--iters", stats_it, "--warmup", "1"],
        },
    }
    try:
        compare(args, suites, stats_dir, check_dir)
    finally:
        shutil.rmtree(stats_dir, ignore_errors=True)
        shutil.rmtree(check_dir, ignore_errors=True)


def compare(args, suites, stats_dir, check_dir):
    check_file = os.path.join(check_dir, "cifar_step_check.npz")
    if args.rgan_one_thread:
        for suite in ("mnist-step", "wgan-gp-step", "cifar-step", *IMAGE_STEPS, "fid-stats"):
            suites[suite]["rgan-1-thread"] = (suites[suite]["rgan"], {"RAYON_NUM_THREADS": "1"})
    cpu = cpu_description()
    print(f"CPU: {cpu['model']}, {cpu['cores']} cores, SIMD: {' '.join(cpu['simd'])}", flush=True)
    everything = {"cpu": cpu, "results": {}}
    for suite in args.only or suites:
        impls = suites[suite]
        if suite == "fid-stats":
            written = subprocess.run([args.rgan, "bench", "fid-stats", "--write-inputs", stats_dir],
                                     capture_output=True, text=True)
            if written.returncode != 0:
                sys.stderr.write(f"rgan bench fid-stats --write-inputs failed:\n{written.stderr[-3000:]}\n")
                continue
        if suite == "cifar-step":
            written = subprocess.run([args.rgan, "bench", "cifar-step", "--write-check", check_dir,
                                      "--batch-size", str(args.batch_size)], capture_output=True, text=True)
            if written.returncode != 0:
                sys.stderr.write(f"rgan bench cifar-step --write-check failed:\n{written.stderr[-3000:]}\n")
                continue
        rounds = {name: [] for name in impls}
        for r in range(args.rounds):
            for name, cmd in impls.items():
                cmd, env = cmd if isinstance(cmd, tuple) else (cmd, None)
                checked = suite == "cifar-step" and r == 0 and not name.startswith("rgan")
                if checked:
                    # The first round of each reference checks its losses against rgan's.
                    cmd = [*cmd, "--check", check_file]
                result = run(cmd, env)
                if result is not None:
                    rounds[name].append(result)
                    print(f"  {suite} round {r + 1} {name}: {result['ms_per_iter']:.1f} ms", flush=True)
                    if checked and "check" in result:
                        c = result["check"]
                        print(f"    same losses as rgan over {c['steps']} steps (of the step's largest loss): "
                              f"{c['difference_before_update']:.1e} before any update, at most "
                              f"{c['max_difference_after_update']:.1e} after one", flush=True)
        print(f"\n{suite}: median of {args.rounds} rounds")
        print("| implementation | ms/iter | GFLOP/s | images/s | peak RSS (MiB) | per-round medians |")
        print("|---|---|---|---|---|---|")
        summary = {}
        for name, results in rounds.items():
            if not results:
                print(f"| {name} | failed | | | | |")
                continue
            ms = statistics.median(r["ms_per_iter"] for r in results)
            batch = {"fid-features": 16, "fid-stats": 10000, **IMAGE_STEPS}.get(suite, args.batch_size)
            # The image-to-image steps report null GFLOP/s.
            counted = all(r.get("gflops") is not None for r in results)
            gflops = statistics.median(r["gflops"] for r in results) if counted else None
            rss = max(r["peak_rss_mb"] for r in results)
            summary[name] = {"ms_per_iter": ms, "gflops": gflops, "images_per_sec": batch / (ms * 1e-3),
                             "peak_rss_mb": rss, "rounds": [r["ms_per_iter"] for r in results]}
            if "fid" in results[0]:
                summary[name]["fid"] = [r["fid"] for r in results]
            checks = [r["check"] for r in results if "check" in r]
            if checks:
                summary[name]["check"] = checks[0]
            if "stats_ms" in results[0]:
                for step in ("stats_ms", "frechet_ms"):
                    summary[name][step] = statistics.median(r[step] for r in results)
            g = f"{gflops:.1f}" if gflops is not None else "–"
            per = ", ".join(f"{r['ms_per_iter']:.0f}" for r in results)
            print(f"| {name} | {ms:.1f} | {g} | {batch / (ms * 1e-3):.1f} | {rss:.0f} | {per} |")
        for name, v in summary.items():
            if "stats_ms" in v:
                print(f"{name}: means and covariances {v['stats_ms']:.1f} ms, distance {v['frechet_ms']:.1f} ms")
        refs = {k: v for k, v in summary.items() if not k.startswith("rgan")}
        if "rgan" in summary and refs:
            fastest = min(refs, key=lambda k: refs[k]["ms_per_iter"])
            ratio = summary["rgan"]["ms_per_iter"] / refs[fastest]["ms_per_iter"]
            summary["ratio_to_fastest"] = {"fastest": fastest, "ratio": ratio}
            print(f"\nrgan / fastest reference ({fastest}): {ratio:.2f}\n", flush=True)
        if suite == "fid-stats" and "rgan" in summary and "pytorch-fid" in summary:
            fids = {name: summary[name]["fid"] for name in ("rgan", "pytorch-fid")}
            mine, theirs = fids["rgan"][0], fids["pytorch-fid"][0]
            rel = abs(mine - theirs) / abs(theirs)
            ok = rel <= 1e-6 and all(len(set(v)) == 1 for v in fids.values())
            summary["fid_agreement"] = {"rgan": mine, "pytorch-fid": theirs, "relative_difference": rel, "ok": ok}
            print(f"FID: rgan {mine!r}, pytorch-fid {theirs!r}, relative difference {rel:.2e} "
                  f"({'agree' if ok else 'DISAGREE'} to 1e-6, same value every round: "
                  f"{all(len(set(v)) == 1 for v in fids.values())})\n", flush=True)
        everything["results"][suite] = summary
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(everything, f, indent=1)


if __name__ == "__main__":
    main()
