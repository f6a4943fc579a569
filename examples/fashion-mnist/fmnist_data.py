"""Fashion-MNIST as Debian's dataset-fashion-mnist ships it, preprocessed as the trained fixture
expects; shared by train.py and finetune.py."""
import gzip, os, sys

import numpy as np

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-split pixel mean and standard deviation (of pixel/255)
DATA = '/usr/share/datasets/fashion-mnist'


def read_idx(name):
    """Read one gzipped IDX file of the Debian package (images: N x 28 x 28 uint8, labels: N uint8)."""
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        sys.exit(f'{path} missing: apt-get install -y dataset-fashion-mnist')
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def preprocess(images):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28, normalized as the model expects."""
    return ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None, :, :].astype(np.float32)
