#!/usr/bin/env bash
# Set up realtime3d on a Debian or Ubuntu machine: the system libraries, then .venv with
# realtime3d.
#
#   bash scripts/setup.sh          the app (what `realtime3d video` and `webcam` need)
#   bash scripts/setup.sh --test   the app and its `test` extra: pytest, pandas, triton for the
#                                  kernels' interpreter tests, and the `render` extra (Anny,
#                                  moderngl) for the renderer's tests (about 1.5 GB more)
#
# System packages (apt-get), installed here when missing if this runs as root or with sudo;
# otherwise the script prints the one apt-get line to run and stops:
#   libusb-1.0-0 libgl1 libegl1 libgomp1   open3d and torch import only with these
#   libegl-mesa0 libgl1-mesa-dri           OpenGL without a GPU (Mesa's EGL and llvmpipe): the
#                                          renderer of synthetic people (realtime3d.render)
#   python3-venv                           Debian's Python makes no venv without it
#   xvfb xauth x11-utils                   the window tests (an X server in memory, xwininfo)
#
# torch==2.13.0 is installed first, on its own, by exact version: asked for plainly, pip
# takes the newest torch from PyPI, which is the multi-GB CUDA build (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."

target="."
case "${1:-}" in
    "") ;;
    --test) target=".[test]" ;;
    *) echo "setup.sh: unknown option ${1}; the one option is --test (also install the test tools)" >&2; exit 2 ;;
esac

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup.sh: realtime3d needs Python 3.11 or newer (pyproject.toml); this python3 is $(python3 -V 2>&1)" >&2
    exit 1
}

packages=(libusb-1.0-0 libgl1 libegl1 libgomp1 libegl-mesa0 libgl1-mesa-dri xvfb xauth x11-utils)
python3 -c 'import ensurepip' 2>/dev/null || packages+=(python3-venv)
missing=()
if command -v dpkg-query >/dev/null; then
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
fi
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
        echo "setup.sh: run this first, as root:  apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]} (apt-get)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q torch==2.13.0
python -m pip install -q -e "$target"
