#!/usr/bin/env bash
# Export the torchvision models with PyTorch into a temporary folder
# (about 1 GB: VGG-11 alone is 0.5 GB), run test_torchvision on them, and
# remove the folder. Usage: torchvision_run.sh TEST_BINARY EXPORTER MODEL...
set -euo pipefail
bin=$1 exporter=$2
shift 2
# Debian's python3 has torch; a python3 earlier on PATH (pyenv) may not.
py=/usr/bin/python3
if ! "$py" -c 'import torch, torchvision, onnx' 2>/dev/null; then
  echo "torchvision_run: $py lacks torch, torchvision or onnx (scripts/setup installs python3-torch, python3-torchvision, python3-onnx)" >&2
  exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/clayer-torchvision-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$py" "$exporter" "$dir" "$@"
"$bin" "$dir" "$@"
