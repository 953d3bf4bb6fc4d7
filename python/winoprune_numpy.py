"""A NumPy reader for winoprune models: loads a checkpoint or an export (safetensors) and runs
the network's forward pass, Winograd layers in the Winograd domain, in float64.

    import winoprune_numpy as wn
    net = wn.load("runs/quickstart-.../checkpoints/latest.safetensors")   # or an export
    logits = net.forward(images)        # images: float array [N, C, H, W], already normalized
    print(net.classes, logits.argmax(1))

As a program it evaluates Fashion-MNIST test images and can compare its logits with those of
`winoprune eval MODEL --set data.val.limit=N --dump-logits FILE`:

    python3 python/winoprune_numpy.py MODEL [--fashion-mnist DIR] [--limit N]
                                      [--compare LOGITS.npy] [--tolerance 1e-4]

Needs only NumPy (Debian: python3-numpy). The file formats are described in docs/contracts.md;
the layer sequence is build_model's (src/nn/build_model.cpp):
    conv1 relu1 [lrn1] pool1 conv2 relu2 [lrn2] pool2 conv3 relu3 conv4 relu4 conv5 relu5 pool5
    flatten, then fc6 relu6 fc7 relu7 fc8 (dropout is the identity at inference).
"""
import argparse
import gzip
import json
import struct
import sys

import numpy as np

# safetensors dtype names -> NumPy (little-endian).
_DTYPES = {"BOOL": "?", "U8": "u1", "I8": "i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
           "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}

# The two architectures (src/nn/arch.h): kernel, stride and padding of conv1..conv5; max-pool
# kernel and stride (after conv1, conv2, conv5); whether the convs 2, 4, 5 take "groups".
_ARCH = {
    "alexnet": dict(widths=[96, 256, 384, 384, 256], fc=[4096, 4096], kernel=[11, 5, 3, 3, 3],
                    stride=[4, 1, 1, 1, 1], pad=[0, 2, 1, 1, 1], pool=(3, 2), input=(3, 227),
                    classes=1000, lrn=True),
    "alexnet-small": dict(widths=[64, 128, 192, 192, 128], fc=[512, 512], kernel=[5, 5, 3, 3, 3],
                          stride=[1, 1, 1, 1, 1], pad=[2, 2, 1, 1, 1], pool=(2, 2), input=(1, 28),
                          classes=10, lrn=False),
}
_GROUPED = {1, 3, 4}   # conv2, conv4, conv5 (0-based)


def read_safetensors(path):
    """Returns ({name: ndarray}, {metadata key: string})."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack_from("<Q", data, 0)
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = np.dtype(_DTYPES[e["dtype"]])
        count = int(np.prod(e["shape"], dtype=np.int64))
        if end - begin != count * dtype.itemsize or end > len(body):
            raise ValueError(f"{path}: tensor {name}: offsets do not match its shape")
        tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(e["shape"])
    return tensors, meta


def _csr_to_dense(t, name):
    """An export's CSR Winograd weight -> dense [t*t, K, C/g]."""
    P, K, C = (int(v) for v in t[name + ".csr.shape"])
    row_ptr = t[name + ".csr.row_ptr"].astype(np.int64)      # [P, K+1], counted per position
    cols = t[name + ".csr.col"].astype(np.int64)
    values = t[name + ".csr.values"].astype(np.float64)
    W = np.zeros((P, K, C))
    start = 0
    for j in range(P):
        counts = np.diff(row_ptr[j])
        rows = np.repeat(np.arange(K), counts)
        n = int(row_ptr[j, -1])
        W[j, rows, cols[start:start + n]] = values[start:start + n]
        start += n
    return W


def _conv2d(x, w, b, stride, pad, groups):
    """Direct convolution, x [N, C, H, W], w [K, C/g, r, r]."""
    N, C, H, Wd = x.shape
    K, Cg, r, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = (H + 2 * pad - r) // stride + 1
    Wo = (Wd + 2 * pad - r) // stride + 1
    Kg = K // groups
    y = np.zeros((N, K, Ho, Wo))
    for g in range(groups):
        xs = xp[:, g * Cg:(g + 1) * Cg]
        for a in range(r):
            for c in range(r):
                patch = xs[:, :, a:a + stride * (Ho - 1) + 1:stride, c:c + stride * (Wo - 1) + 1:stride]
                y[:, g * Kg:(g + 1) * Kg] += np.einsum("nchw,kc->nkhw", patch,
                                                       w[g * Kg:(g + 1) * Kg, :, a, c])
    return y + b[None, :, None, None]


def _winograd_conv2d(x, W, b, AT, BT, pad, groups):
    """A Winograd layer: per tile, Y = AT [sum_c W (.) (BT d BT^T)] AT^T, W [t*t, K, C/g]."""
    N, C, H, Wd = x.shape
    P, K, Cg = W.shape
    m, t = AT.shape
    r = t - m + 1
    Ho, Wo = H + 2 * pad - r + 1, Wd + 2 * pad - r + 1
    th, tw = -(-Ho // m), -(-Wo // m)
    # Zero-padded input covering every tile (tiles start at -pad, every m pixels).
    Hp, Wp = max((th - 1) * m + t, H + pad), max((tw - 1) * m + t, Wd + pad)
    xp = np.zeros((N, C, Hp, Wp))
    xp[:, :, pad:pad + H, pad:pad + Wd] = x
    d = np.empty((N, C, th, tw, t, t))
    for a in range(t):
        for c in range(t):
            d[..., a, c] = xp[:, :, a:a + (th - 1) * m + 1:m, c:c + (tw - 1) * m + 1:m]
    V = np.einsum("ia,ncxyab,jb->ncxyij", BT, d, BT).reshape(N, C, th, tw, P)
    Kg = K // groups
    M = np.empty((N, K, th, tw, P))
    for g in range(groups):
        M[:, g * Kg:(g + 1) * Kg] = np.einsum("pkc,ncxyp->nkxyp", W[:, g * Kg:(g + 1) * Kg],
                                              V[:, g * Cg:(g + 1) * Cg])
    Y = np.einsum("ia,nkxyab,jb->nkxyij", AT, M.reshape(N, K, th, tw, t, t), AT)
    Y = Y.transpose(0, 1, 2, 4, 3, 5).reshape(N, K, th * m, tw * m)[:, :, :Ho, :Wo]
    return Y + b[None, :, None, None]


def _max_pool(x, k, s):
    """No padding, floor mode."""
    N, C, H, W = x.shape
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    y = np.full((N, C, Ho, Wo), -np.inf)
    for a in range(k):
        for c in range(k):
            y = np.maximum(y, x[:, :, a:a + s * (Ho - 1) + 1:s, c:c + s * (Wo - 1) + 1:s])
    return y


def _lrn(x, size=5, alpha=1e-4, beta=0.75, k=1.0):
    """Caffe's across-channel LRN: x / (k + alpha/size * sum of squares in the window)^beta."""
    half = (size - 1) // 2
    sq = np.pad(x * x, ((0, 0), (half, half), (0, 0), (0, 0)))
    s = sum(sq[:, i:i + x.shape[1]] for i in range(size))
    return x * (k + alpha / size * s) ** -beta


class Network:
    """The model of a checkpoint or export; forward() gives logits in float64."""

    def __init__(self, tensors, model):
        self.config = model
        a = _ARCH[model.get("arch", "alexnet-small")]
        self.arch = a
        self.widths = model.get("widths") or a["widths"]
        self.groups = int(model.get("groups", 1))
        self.lrn = bool(model.get("lrn", a["lrn"]))
        self.classes = int(model.get("classes", a["classes"]))
        self.winograd = set((model.get("winograd") or {}).get("layers") or [])
        self.t = tensors

    def weight(self, layer):
        """Dense weight of a layer (an export's CSR expanded)."""
        name = layer + ".weight"
        if name in self.t:
            return self.t[name].astype(np.float64)
        return _csr_to_dense(self.t, name)

    def forward(self, x):
        a, t = self.arch, self.t
        x = np.asarray(x, dtype=np.float64)
        for i in range(5):
            name = f"conv{i + 1}"
            groups = self.groups if i in _GROUPED else 1
            b = t[name + ".bias"].astype(np.float64)
            if name in self.winograd:
                x = _winograd_conv2d(x, self.weight(name), b, t[name + ".winograd.AT"],
                                     t[name + ".winograd.BT"], a["pad"][i], groups)
            else:
                x = _conv2d(x, self.weight(name), b, a["stride"][i], a["pad"][i], groups)
            x = np.maximum(x, 0)
            if self.lrn and i < 2:
                x = _lrn(x)
            if i in (0, 1, 4):
                x = _max_pool(x, *a["pool"])
        x = x.reshape(x.shape[0], -1)
        for fc, relu in (("fc6", True), ("fc7", True), ("fc8", False)):
            x = x @ self.weight(fc).T + t[fc + ".bias"].astype(np.float64)
            if relu:
                x = np.maximum(x, 0)
        return x


def load(path):
    """A Network from a winoprune checkpoint or export."""
    tensors, meta = read_safetensors(path)
    if "model" not in meta:
        raise ValueError(f"{path}: no 'model' metadata: not a winoprune checkpoint or export")
    return Network(tensors, json.loads(meta["model"]))


def fashion_mnist_test(root, limit, mean, std):
    """Test images normalized as the dataset does ((pixel - mean) / std), and their labels. With
    0 < limit < 10000, the evenly spaced subset that data.val.limit selects: i * n // limit."""
    with gzip.open(f"{root}/t10k-images-idx3-ubyte.gz", "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack_from(">IIII", data, 0)
    if magic != 0x803:
        raise ValueError(f"{root}: t10k-images: bad IDX magic {magic:#x}")
    pixels = np.frombuffer(data, dtype=np.uint8, count=n * rows * cols, offset=16)
    with gzip.open(f"{root}/t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, count=n, offset=8)
    index = np.arange(n) if limit <= 0 or limit >= n else np.arange(limit) * n // limit
    x = (pixels.reshape(n, 1, rows, cols)[index].astype(np.float64) - mean) / std
    return x, labels[index]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a winoprune checkpoint or export (.safetensors)")
    p.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist",
                   help="directory of t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
    p.add_argument("--limit", type=int, default=64,
                   help="N evenly spaced test images, as data.val.limit=N selects (default 64)")
    p.add_argument("--compare", help="logits from winoprune eval --dump-logits to compare with")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed |difference| / max(1, max |logit|) (default 1e-4)")
    args = p.parse_args(argv)
    tensors, meta = read_safetensors(args.model)
    net = Network(tensors, json.loads(meta["model"]))
    data = json.loads(meta["config"])["data"] if "config" in meta else {}
    mean, std = data.get("mean", [72.94])[0], data.get("std", [90.02])[0]
    x, labels = fashion_mnist_test(args.fashion_mnist, args.limit, mean, std)
    logits = net.forward(x)
    top1 = float((logits.argmax(1) == labels).mean())
    print(f"{args.model}: {len(labels)} images, top-1 {top1:.4f}")
    if args.compare:
        ref = np.load(args.compare).astype(np.float64)
        if ref.shape != logits.shape:
            print(f"shape mismatch: winoprune {ref.shape}, numpy {logits.shape}")
            return 1
        err = np.abs(ref - logits).max() / max(1.0, np.abs(ref).max())
        same = int((ref.argmax(1) == logits.argmax(1)).sum())
        print(f"against {args.compare}: max |difference| / max(1, max |logit|) = {err:.3g} "
              f"(tolerance {args.tolerance:g}); same top-1 class for {same} of {len(labels)}")
        # Logits that hardly change from image to image (dead ReLUs: only the biases) would
        # agree whatever the layers computed; such a comparison proves nothing.
        spread = float(ref.std(axis=0).max()) / max(1e-12, float(np.abs(ref).max()))
        if len(labels) > 1 and spread < 1e-2:
            print(f"the logits barely vary across images (spread {spread:.3g}): not a test")
            return 1
        return 0 if err <= args.tolerance else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
