#!/usr/bin/env bash
# The browser test of `serve`'s page: builds `serve` and `train` (dev profile, default
# features: what `cargo test --workspace` already compiled), trains a quick run of
# configs/mlp.toml unless --model names one, installs playwright-core (npm ci) if needed, and
# has headless Chromium draw digits on the page (draw.mjs).
#
#   tests/browser/run.sh                          # train a 4-epoch mlp run in a temp dir
#   tests/browser/run.sh --model artifacts/mlp    # use a trained run
#   tests/browser/run.sh --screenshot docs/serve.png
#
# The page's screenshots for each digit drawn are left in target/browser-test/ (or $OUT_DIR).
#
# Needs Chromium at /usr/bin/chromium (Debian: apt-get install chromium) or $CHROMIUM, and Node.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

model=""
screenshot=""
epochs=4
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$(realpath "$2"); shift 2 ;;
        --screenshot) screenshot=$(realpath -m "$2"); shift 2 ;;
        --epochs) epochs=$2; shift 2 ;;
        *) echo "usage: $0 [--model RUN_DIR] [--screenshot FILE.png] [--epochs N]" >&2; exit 2 ;;
    esac
done

cargo build -q -p serve -p train
target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$model" ]; then
    # The classic network, fewer epochs: enough to read clearly drawn digits (about 95%).
    "$target/debug/train" --config configs/mlp.toml --epochs "$epochs" \
        --out "$work/artifacts/mlp" --quiet
    model="$work/artifacts/mlp"
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

SERVE_BIN="$target/debug/serve" MODEL="$model" \
    OUT_DIR="${OUT_DIR:-$target/browser-test}" SCREENSHOT="$screenshot" \
    node tests/browser/draw.mjs
