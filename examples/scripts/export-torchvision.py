#!/usr/bin/python3
"""Opt-in: export real torchvision models (random weights) to ONNX, as mpcc's users would.

Needs Debian's python3-torch, python3-torchvision (and python3-onnx for --check); the npm tests
never call it. The weights are random but the batch-norm statistics are made non-trivial
(torchvision initializes running mean 0 / var 1), so folding BN at export changes the weights.

  /usr/bin/python3 examples/scripts/export-torchvision.py resnet18 -o out/resnet18.onnx
  /usr/bin/python3 examples/scripts/export-torchvision.py deeplabv3_resnet50 --size 256 -o d.onnx
  /usr/bin/python3 examples/scripts/export-torchvision.py resnet50 --fold-bn --dynamic-batch -o r.onnx

--fold-bn exports in eval mode, where torch.onnx folds BatchNormalization into the convs; the
default keeps BatchNormalization nodes (TrainingMode.PRESERVE on a model in eval mode).
--dynamic-batch makes the batch dimension symbolic (mpcc then needs --input-shape).
"""
import argparse
import sys

import torch
import torchvision

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "deeplabv3_resnet50": lambda: torchvision.models.segmentation.deeplabv3_resnet50(
        weights=None, weights_backbone=None, aux_loss=False, num_classes=21
    ),
}


class SegmentationOutput(torch.nn.Module):
    """torchvision segmentation models return a dict; export its 'out' tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def randomize_batch_norm(model, generator):
    """Gives every BatchNorm non-trivial statistics: mean ~ N(0, 0.2), var in [0.5, 2]."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=generator) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=generator) * 1.5 + 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--fold-bn", action="store_true", help="fold BatchNormalization into convs")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch dimension")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="run onnx.checker on the result")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = MODELS[args.model]()
    randomize_batch_norm(model, generator)
    if args.model.startswith("deeplabv3"):
        model = SegmentationOutput(model)
    model.eval()

    example = torch.randn(1, 3, args.size, args.size, generator=generator)
    training = torch.onnx.TrainingMode.EVAL if args.fold_bn else torch.onnx.TrainingMode.PRESERVE
    dynamic_axes = {"input": {0: "batch"}, "output": {0: "batch"}} if args.dynamic_batch else None
    torch.onnx.export(
        model,
        example,
        args.output,
        opset_version=args.opset,
        input_names=["input"],
        output_names=["output"],
        training=training,
        do_constant_folding=args.fold_bn,
        dynamic_axes=dynamic_axes,
    )
    if args.check:
        import onnx

        onnx.checker.check_model(onnx.load(args.output))
    print(f"wrote {args.output} ({args.model}, opset {args.opset}, {'BN folded' if args.fold_bn else 'BN kept'})", file=sys.stderr)


if __name__ == "__main__":
    main()
