#!/bin/sh
# Opt-in: export torchvision models (needs Debian's python3-torch/torchvision/onnx) and check
# mpcc's import + interpreter against onnxruntime-node and PyTorch, and compile + run the CIFAR-100
# ResNet18 exports securely (three parties in process) against PyTorch. Arguments are passed on:
# [--dir DIR] [--opset N] [NAME ...]. See check-torchvision.ts.
set -e
cd "$(dirname "$0")/../.."
npx tsc -p .
exec node dist/examples/scripts/check-torchvision.js "$@"
