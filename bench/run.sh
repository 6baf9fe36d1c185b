#!/usr/bin/env bash
# The benchmark comparison: installs the TensorFlow and PyTorch references into a virtual
# environment (once; RGAN_BENCH_VENV, default bench/.venv), builds rgan as the README does (the
# default features: every core; into $CARGO_TARGET_DIR when set), then runs rgan and each
# reference alternately (bench/compare.py; its flags pass through, e.g. --rounds 3,
# --only cifar-step, --batch-size 64 or --rgan-one-thread). cifar-step's references first check
# their losses against rgan's (bench/reference/*_cifar_step.py --check).
# Run it on an otherwise idle machine: only ratios measured in the same run mean anything.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RGAN_BENCH_VENV:-bench/.venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r bench/reference/requirements.txt
fi
cargo build --release -p rgan-cli
exec "$venv/bin/python" bench/compare.py --rgan "${CARGO_TARGET_DIR:-target}/release/rgan" \
    --python "$venv/bin/python" "$@"
