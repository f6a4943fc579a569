#!/usr/bin/python3
"""Import a planned network that `mpcc export --plan` wrote into PyTorch, check it computes what
mpcc computes, fine-tune it on Fashion-MNIST (as the seed paper does after planning), and write
the fine-tuned weights back into the ORIGINAL model's ONNX file, ready for `mpcc plan`/`compile`.

Usage:  /usr/bin/python3 examples/fashion-mnist/finetune.py PLANNED.onnx ORIGINAL.onnx OUT.onnx
            [--epochs N] [--lr X] [--seed N] [--threads N] [--train-images N] [--check-only]
Needs:  apt-get install -y python3-torch python3-onnx dataset-fashion-mnist
Reads:  PLANNED.onnx  from `mpcc export MODEL --plan P -o PLANNED.onnx` (block-ReLUs in standard ONNX)
        ORIGINAL.onnx the model the plan was made for (its initializers are replaced by name)
Writes: OUT.onnx      ORIGINAL.onnx with the fine-tuned weights (nothing else changes)
Prints: top-1 on the 500 committed test images before and after fine-tuning, and the largest
        difference between this PyTorch module and mpcc's interpreter on them is checked by the
        caller (`mpcc eval --plan` on the same images gives the same top-1; see the README).

The importer below is a small ONNX interpreter in torch.nn.functional for the operators mpcc's
export writes (Conv, Gemm, Relu, Add, Sub, Mul, Cast, Pad, Slice, AveragePool, Resize (nearest),
Gather, Concat, GlobalAveragePool, Flatten). Conv and Gemm initializers become trainable
parameters; everything else is a constant. A block-ReLU's mask (the tile's sign test) is a
constant for the gradient, exactly as a plain ReLU's derivative is its mask: the gradient flows
through the `Mul(x, mask)` of the kept tiles."""
import argparse, os, sys

ap = argparse.ArgumentParser()
ap.add_argument('planned')
ap.add_argument('original')
ap.add_argument('out')
ap.add_argument('--epochs', type=int, default=1)
ap.add_argument('--lr', type=float, default=0.01)
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--train-images', type=int, default=60000)
ap.add_argument('--check-only', action='store_true', help='import and evaluate, no fine-tuning, nothing written')
a = ap.parse_args()
try:
    import numpy as np, onnx, torch, torch.nn as nn, torch.nn.functional as F
    from onnx import numpy_helper, helper
except ImportError:
    sys.exit('needs Debian packages: apt-get update && apt-get install -y python3-torch python3-onnx dataset-fashion-mnist')

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)


class OnnxModule(nn.Module):
    """An ONNX graph run node by node with torch.nn.functional; Conv/Gemm weights trainable."""

    def __init__(self, model):
        super().__init__()
        g = model.graph
        self.nodes = list(g.node)
        self.input = g.input[0].name
        self.output = g.output[0].name
        trainable = set()
        for n in self.nodes:
            if n.op_type in ('Conv', 'Gemm'):
                trainable.update(n.input[1:])
        self.params = nn.ParameterDict()
        self.consts = {}
        self.keys = {}
        for i, init in enumerate(g.initializer):
            t = torch.from_numpy(numpy_helper.to_array(init).copy())
            if init.name in trainable:
                key = f'p{i}'
                self.keys[init.name] = key
                self.params[key] = nn.Parameter(t.float())
            else:
                self.consts[init.name] = t

    def value(self, env, name):
        if name in self.keys:
            return self.params[self.keys[name]]
        return env[name] if name in env else self.consts[name]

    def forward(self, x):
        env = {self.input: x}
        for n in self.nodes:
            ins = [self.value(env, i) if i else None for i in n.input]
            at = {t.name: helper.get_attribute_value(t) for t in n.attribute}
            env[n.output[0]] = self.run(n.op_type, ins, at, n.name)
        return env[self.output]

    @staticmethod
    def run(op, ins, at, name):
        if op == 'Conv':
            pads = list(at.get('pads', [0, 0, 0, 0]))
            x = ins[0]
            if pads[0] != pads[2] or pads[1] != pads[3]:
                x = F.pad(x, [pads[1], pads[3], pads[0], pads[2]])
                pads = [0, 0, 0, 0]
            return F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, stride=list(at.get('strides', [1, 1])),
                            padding=pads[:2], dilation=list(at.get('dilations', [1, 1])), groups=at.get('group', 1))
        if op == 'Gemm':
            x, w = ins[0], ins[1]
            if at.get('transA', 0):
                x = x.t()
            if at.get('transB', 0):
                w = w.t()
            y = at.get('alpha', 1.0) * (x @ w)
            return y + at.get('beta', 1.0) * ins[2] if len(ins) > 2 and ins[2] is not None else y
        if op == 'Relu':
            return F.relu(ins[0])
        if op == 'Add':
            return ins[0] + ins[1]
        if op == 'Sub':
            return ins[0] - ins[1]
        if op == 'Mul':
            return ins[0] * ins[1]
        if op == 'Cast':
            to = at['to']
            if to == onnx.TensorProto.BOOL:
                return ins[0] != 0
            if to == onnx.TensorProto.FLOAT:
                return ins[0].float()
            if to == onnx.TensorProto.INT64:
                return ins[0].long()
        if op == 'Pad' and at.get('mode', b'constant') in (b'constant', 'constant'):
            p = ins[1].tolist()
            r = len(p) // 2
            flat = []
            for d in reversed(range(r)):
                flat += [p[d], p[d + r]]
            return F.pad(ins[0], flat, value=float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0)
        if op == 'Slice':
            x = ins[0]
            axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(ins[1])))
            steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(axes)
            idx = [slice(None)] * x.dim()
            for ax, s, e, st in zip(axes, ins[1].tolist(), ins[2].tolist(), steps):
                idx[ax] = slice(s, min(e, x.shape[ax]), st)
            return x[tuple(idx)]
        if op == 'AveragePool':
            pads = list(at.get('pads', [0, 0, 0, 0]))
            return F.avg_pool2d(ins[0], list(at['kernel_shape']), list(at.get('strides', at['kernel_shape'])),
                                pads[:2], count_include_pad=bool(at.get('count_include_pad', 0)))
        if op == 'GlobalAveragePool':
            return ins[0].mean(dim=(2, 3), keepdim=True)
        if op == 'Resize' and at.get('mode') == b'nearest':
            scales = ins[2].tolist()
            return F.interpolate(ins[0], scale_factor=scales[2:], mode='nearest')
        if op == 'Gather':
            return torch.index_select(ins[0], at.get('axis', 0), ins[1].long().flatten())
        if op == 'Concat':
            return torch.cat(ins, dim=at['axis'])
        if op == 'Flatten':
            ax = at.get('axis', 1)
            return ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        sys.exit(f"node '{name}': operator {op} is not handled by this importer")


def top1(module, x, y):
    with torch.no_grad():
        return float((module(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def main():
    planned = OnnxModule(onnx.load(a.planned))
    tx = np.load(os.path.join(HERE, 'test-images.npy'))
    ty = np.load(os.path.join(HERE, 'test-labels.npy'))
    before = top1(planned, tx, ty)
    print(f'imported {a.planned}: {len(planned.nodes)} nodes, {sum(p.numel() for p in planned.params.values())} trainable parameters')
    print(f'top-1 on the 500 test fixtures before fine-tuning: {before:.4f}')
    if a.check_only:
        return
    from fmnist_data import read_idx, preprocess
    images = preprocess(read_idx('train-images-idx3-ubyte.gz'))[:a.train_images]
    labels = read_idx('train-labels-idx1-ubyte.gz').astype(np.int64)[:a.train_images]
    opt = torch.optim.SGD(planned.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(a.seed)
    for epoch in range(a.epochs):
        order = rng.permutation(len(images))
        for step in range(0, len(order), 128):
            b = order[step:step + 128]
            loss = F.cross_entropy(planned(torch.from_numpy(images[b])), torch.from_numpy(labels[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f'epoch {epoch + 1}: loss {loss.item():.4f}, top-1 on the test fixtures {top1(planned, tx, ty):.4f}', flush=True)
    original = onnx.load(a.original)
    fitted = {name: planned.params[key].detach().numpy() for name, key in planned.keys.items()}
    for i, init in enumerate(original.graph.initializer):
        if init.name in fitted:
            original.graph.initializer[i].CopyFrom(numpy_helper.from_array(fitted[init.name].astype(np.float32), init.name))
    tmp = a.out + '.tmp'
    onnx.save(original, tmp)
    os.replace(tmp, a.out)
    print(f'wrote {a.out} ({len(fitted)} tensors replaced)')


if __name__ == '__main__':
    main()
