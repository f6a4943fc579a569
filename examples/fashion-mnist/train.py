#!/usr/bin/python3
"""Train a small ResNet on Debian's Fashion-MNIST with Debian's torch (CPU, seeded) and write the
ONNX model and the .npy fixtures that npm test reads (test/examples/fashion-mnist.test.ts).

Usage:  /usr/bin/python3 examples/fashion-mnist/train.py [OUTDIR] [--epochs N] [--seed N] [--threads N]
        /usr/bin/python3 examples/fashion-mnist/train.py OUTDIR --export-only   (re-export OUTDIR/model.pt)
Needs:  apt-get install -y python3-torch python3-onnx dataset-fashion-mnist
Writes: OUTDIR (default: this script's folder)
        fmnist-resnet.onnx   opset 13, input 'input' [batch,1,28,28], output 'logits' [batch,10], batch-norm folded
                             (mpcc: --input-shape 1,1,28,28 fixes the symbolic batch)
        test-images.npy      float32 500x1x28x28, the first 500 images of the official test split, preprocessed
        test-labels.npy      int64 500
        calib-images.npy     float32 500x1x28x28, the first 500 images of the official training split, preprocessed
        calib-labels.npy     int64 500
        model.pt             the trained state dict (not committed; --export-only reads it)
Preprocessing (not in the ONNX graph; the fixtures are already preprocessed): x = (pixel/255 - MEAN) / STD."""
import argparse, os, sys, time

FIXTURES = 500

ap = argparse.ArgumentParser()
ap.add_argument('outdir', nargs='?', default=os.path.dirname(os.path.abspath(__file__)))
ap.add_argument('--epochs', type=int, default=6)
ap.add_argument('--seed', type=int, default=1)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--export-only', action='store_true')
a = ap.parse_args()
try:
    import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fmnist_data import read_idx, preprocess
except ImportError:
    sys.exit('needs Debian packages: apt-get update && apt-get install -y python3-torch python3-onnx dataset-fashion-mnist')

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
torch.use_deterministic_algorithms(True)


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch-norm layers with a ReLU between, a residual add, then a ReLU."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class FashionResNet(nn.Module):
    """Stem 16 ch at 28x28, stride-2 stages of 32 (14x14) and 64 (7x7) channels, global average pool, Linear 64->10."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.stages = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def accuracy(model, x, y, batch=1000):
    model.eval(); correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


train_x = torch.from_numpy(preprocess(read_idx('train-images-idx3-ubyte.gz')))
train_y = torch.from_numpy(read_idx('train-labels-idx1-ubyte.gz').astype(np.int64))
test_x = torch.from_numpy(preprocess(read_idx('t10k-images-idx3-ubyte.gz')))
test_y = torch.from_numpy(read_idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
os.makedirs(a.outdir, exist_ok=True)
model = FashionResNet()
weights = os.path.join(a.outdir, 'model.pt')

if a.export_only:
    model.load_state_dict(torch.load(weights))
else:
    batch = 128
    steps = a.epochs * ((len(train_x) + batch - 1) // batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.2)
    order = torch.Generator().manual_seed(a.seed)
    start = time.time()
    for epoch in range(a.epochs):
        model.train(); perm = torch.randperm(len(train_x), generator=order); total = 0.0
        for i in range(0, len(train_x), batch):
            idx = perm[i:i + batch]; xb = train_x[idx]
            flip = torch.rand(len(idx), generator=order) < 0.5  # horizontal flips: clothes are left-right symmetric
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), train_y[idx])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step(); total += loss.item() * len(idx)
        print(f'epoch {epoch + 1}/{a.epochs}: training loss {total / len(train_x):.4f}, {time.time() - start:.0f} s', flush=True)
    torch.save(model.state_dict(), weights)

model.eval()
print(f'final test accuracy (10,000 images): {accuracy(model, test_x, test_y):.4f}')
print(f'accuracy on the {FIXTURES} fixture test images: {accuracy(model, test_x[:FIXTURES], test_y[:FIXTURES]):.4f}')
onnx_path = os.path.join(a.outdir, 'fmnist-resnet.onnx')
torch.onnx.export(model, test_x[:1], onnx_path, opset_version=13, input_names=['input'], output_names=['logits'],
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                  training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
np.save(os.path.join(a.outdir, 'test-images.npy'), test_x[:FIXTURES].numpy().astype('<f4'))
np.save(os.path.join(a.outdir, 'test-labels.npy'), test_y[:FIXTURES].numpy().astype('<i8'))
np.save(os.path.join(a.outdir, 'calib-images.npy'), train_x[:FIXTURES].numpy().astype('<f4'))
np.save(os.path.join(a.outdir, 'calib-labels.npy'), train_y[:FIXTURES].numpy().astype('<i8'))
for name in ('fmnist-resnet.onnx', 'test-images.npy', 'test-labels.npy', 'calib-images.npy', 'calib-labels.npy'):
    print(f'{os.path.join(a.outdir, name)}: {os.path.getsize(os.path.join(a.outdir, name)) >> 10} KiB')
