#!/usr/bin/env bash
# Create .venv and install realtime3d with its test extras.
# torch==2.13.0 is installed first, on its own: the CPU build lies on this machine's
# disk, and asking for it by exact version keeps pip from pulling a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test]"
