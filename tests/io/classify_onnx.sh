#!/usr/bin/env bash
# `clayer classify` on a torchvision resnet18 exported to ONNX (seeded
# weights) against PyTorch's top 5 for the same images and preprocessing:
# straight from the .onnx, through `clayer import` to a model file, in
# batches of 2 (the last one padded); and a file that is not an image.
# Usage: classify_onnx.sh CLAYER classify_onnx.py   (exits 77 without OpenCL)
set -euo pipefail
clayer=$1 script=$2
# Debian's python3 has torch; a python3 earlier on PATH (pyenv) may not.
py=/usr/bin/python3
if ! devices=$("$clayer" devices 2>&1); then
  if grep -q "no OpenCL platform" <<<"$devices"; then
    echo "classify_onnx: skipped: no OpenCL platform" >&2
    exit 77
  fi
  echo "classify_onnx: clayer devices failed: $devices" >&2
  exit 1
fi
if ! "$py" -c 'import torch, torchvision, onnx, PIL' 2>/dev/null; then
  echo "classify_onnx: $py lacks torch, torchvision, onnx or PIL (scripts/setup installs python3-torch, python3-torchvision, python3-onnx, python3-pil)" >&2
  exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/clayer-classify-onnx-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$py" "$script" make "$dir"
mapfile -t images <"$dir/images.txt"

"$clayer" classify "$dir/resnet18.onnx" "${images[@]}" --top 5 --json >"$dir/onnx.json" 2>"$dir/onnx.err"
if grep -q seeded "$dir/onnx.err"; then
  echo "classify_onnx: clayer classify says the ONNX model's weights are seeded: $(cat "$dir/onnx.err")" >&2
  exit 1
fi
"$py" "$script" check "$dir" "$dir/onnx.json"

"$clayer" import "$dir/resnet18.onnx" -o "$dir/resnet18.clym"
"$clayer" classify "$dir/resnet18.clym" "${images[@]}" --top 5 --json --batch 2 >"$dir/clym.json"
"$py" "$script" check "$dir" "$dir/clym.json"
"$clayer" classify "$dir/resnet18.onnx" "${images[@]}" --top 5 --json --batch 2 >"$dir/batch2.json"
"$py" "$script" check "$dir" "$dir/batch2.json"

rc=0
"$clayer" classify "$dir/resnet18.onnx" "${images[0]}" "$dir/not-an-image.png" >"$dir/bad.out" 2>"$dir/bad.err" || rc=$?
if [ $rc -ne 1 ] || ! grep -q "not-an-image.png: not a PNG or JPEG image" "$dir/bad.err" || [ -s "$dir/bad.out" ]; then
  echo "classify_onnx: a non-image: exit $rc, stderr '$(cat "$dir/bad.err")', stdout '$(cat "$dir/bad.out")'" >&2
  exit 1
fi
echo "classify_onnx: clayer classify gives PyTorch's top 5 (.onnx, imported .clym, --batch 2)"
