#!/usr/bin/python3
"""Parity fixtures for SelectiveLoss's DenseNet, made by torchvision itself.

    /usr/bin/python3 make_densenet_fixtures.py            # (re)writes the fixtures beside this script
    /usr/bin/python3 make_densenet_fixtures.py --check F  # loads F (.pth or .safetensors, e.g. saved by C#) into
                                                          # torchvision's DenseNet with load_state_dict(strict=True)

Made with Debian 12's python3-torch (1.13.1) and python3-torchvision (0.14.1). The tests read the outputs without
Python. The model is a small torchvision DenseNet (growth 4, blocks (2, 2), 8 initial features, 5 classes, ImageNet
stem); its BatchNorm layers get random affine values and running statistics from a few training-mode passes, so every
tensor of the state_dict matters to the logits.

Outputs:
  densenet_tiny.pth                  torch.save(state_dict), torchvision's key names (zip format, PyTorch >= 1.6)
  densenet_tiny_oldkeys.pth          the same tensors under the key names of torchvision's published checkpoints
                                     (denselayer1.norm.1.weight, ...) and, like them, without num_batches_tracked
                                     (those files predate PyTorch 0.4.1); zip format
  densenet_tiny_oldkeys_legacy.pth   the old-key state_dict in PyTorch's legacy (pre-1.6, not zip) format, the format
                                     torchvision's published DenseNet files were written in, pickled as PyTorch 0.3
                                     pickled a state_dict: an OrderedDict rebuilt from its items, tensors through
                                     torch._utils._rebuild_tensor(storage, offset, size, stride)
  densenet_tiny.safetensors          the state_dict as safetensors, written here to the format's spec (Debian 12 has
                                     no python3-safetensors); bytes from the tensors themselves
  densenet_tiny.json                 the configuration, a fixed input [2, 3, 16, 16] and torchvision's eval-mode logits
"""
import argparse
import collections
import json
import os
import re
import struct
import sys

import torch
from torchvision.models.densenet import DenseNet, _load_state_dict

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = dict(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=4, drop_rate=0.0, num_classes=5)
INPUT_SHAPE = (2, 3, 16, 16)

# The inverse of torchvision 0.14.1's _load_state_dict pattern (models/densenet.py): norm1 -> norm.1, conv2 -> conv.2.
NEW_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))((?:[12])\.(?:weight|bias|running_mean|running_var))$")

OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")

SAFETENSORS_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                      torch.uint8: "U8", torch.bool: "BOOL"}


def build(num_classes=CONFIG["num_classes"]):
    config = dict(CONFIG, num_classes=num_classes)
    return DenseNet(**config)


def old_style(state_dict):
    """The key names torchvision's published DenseNet checkpoints carry, without num_batches_tracked."""
    result = collections.OrderedDict()
    for key, value in state_dict.items():
        if key.endswith(".num_batches_tracked"):
            continue
        match = NEW_KEY.match(key)
        result[match.group(1) + "." + match.group(2) if match else key] = value
    return result


class _Tensor03:
    """Pickles a tensor as PyTorch 0.3 did: _rebuild_tensor(storage, storage_offset, size, stride)."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        t = self.tensor
        return torch._utils._rebuild_tensor, (t.storage(), t.storage_offset(), tuple(t.size()), t.stride())


class _OrderedDict03:
    """Pickles a state_dict as Python 2's OrderedDict did: the class called with the list of its items."""

    def __init__(self, state_dict):
        self.items = [[k, _Tensor03(v)] for k, v in state_dict.items()]

    def __reduce__(self):
        return collections.OrderedDict, (self.items,)


def save_safetensors(state_dict, path):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for key, tensor in state_dict.items():
        data = tensor.detach().contiguous().cpu().numpy().tobytes()
        header[key] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the spec pads the header so that the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def load_safetensors(path):
    names = {v: k for k, v in SAFETENSORS_DTYPES.items()}
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    start = 8 + length
    result = collections.OrderedDict()
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = names[entry["dtype"]]
        flat = torch.frombuffer(bytearray(raw[start + begin:start + end]), dtype=dtype) if end > begin \
            else torch.empty(0, dtype=dtype)
        result[key] = flat.reshape(entry["shape"]).clone()
    return result


def fixture_input():
    generator = torch.Generator().manual_seed(20261127)
    return torch.randn(INPUT_SHAPE, generator=generator)


def make():
    torch.manual_seed(17)
    model = build()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, 16, 16))  # moves running_mean, running_var and num_batches_tracked
    model.eval()
    x = fixture_input()
    with torch.no_grad():
        logits = model(x)

    state_dict = model.state_dict()
    torch.save(state_dict, os.path.join(HERE, "densenet_tiny.pth"))
    old = old_style(state_dict)
    torch.save(old, os.path.join(HERE, "densenet_tiny_oldkeys.pth"))
    torch.save(_OrderedDict03(old), os.path.join(HERE, "densenet_tiny_oldkeys_legacy.pth"),
               _use_new_zipfile_serialization=False)
    save_safetensors(state_dict, os.path.join(HERE, "densenet_tiny.safetensors"))

    # torchvision itself must accept what was written: every file gives the same logits in torchvision's DenseNet
    # (the old-key files through torchvision's own loader, which renames the keys).
    for name in ("densenet_tiny.pth", "densenet_tiny_oldkeys.pth", "densenet_tiny_oldkeys_legacy.pth",
                 "densenet_tiny.safetensors"):
        check(os.path.join(HERE, name), expected=logits, quiet=True)

    # float32 values printed with 9 significant digits read back exactly.
    def floats(t):
        return [float("%.9g" % v) for v in t.flatten().tolist()]

    with open(os.path.join(HERE, "densenet_tiny.json"), "w") as f:
        f.write("{\n")
        f.write(' "made_by": %s,\n' % json.dumps("make_densenet_fixtures.py with torch %s, torchvision %s"
                                                 % (torch.__version__, _tv_version())))
        f.write(' "config": %s,\n' % json.dumps(dict(CONFIG, block_config=list(CONFIG["block_config"]), stem="ImageNet")))
        f.write(' "state_dict_keys": %s,\n' % json.dumps(list(state_dict.keys())))
        f.write(' "input_shape": %s,\n' % json.dumps(list(INPUT_SHAPE)))
        f.write(' "input": %s,\n' % json.dumps(floats(x)))
        f.write(' "logits": %s\n' % json.dumps(floats(logits)))
        f.write("}\n")
    for name in sorted(os.listdir(HERE)):
        print("%8d  %s" % (os.path.getsize(os.path.join(HERE, name)), name))


def _tv_version():
    import torchvision
    return torchvision.__version__


class _FileWeights:
    """Stands in for a torchvision WeightsEnum, so that torchvision's own _load_state_dict reads a local file."""

    def __init__(self, state_dict):
        self.state_dict = state_dict

    def get_state_dict(self, progress):
        return self.state_dict


def check(path, expected=None, quiet=False):
    """Loads path into torchvision's DenseNet with strict=True and prints the logits on the fixture input."""
    state_dict = load_safetensors(path) if path.endswith(".safetensors") else torch.load(path, map_location="cpu")
    num_classes = state_dict["classifier.weight"].shape[0]
    model = build(num_classes)
    if any(OLD_KEY.match(k) for k in state_dict):
        # torchvision's loader: renames denselayer*.norm.1 to norm1 (its regular expression), then
        # load_state_dict(state_dict), strict by default.
        _load_state_dict(model, _FileWeights(state_dict), progress=False)
        result = "old key names, loaded by torchvision's _load_state_dict"
    else:
        result = model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(fixture_input())
    sidecar = path + ".logits.json"
    if expected is None and os.path.exists(sidecar):
        with open(sidecar) as f:
            expected = torch.tensor(json.load(f)["logits"]).reshape(logits.shape)
    if not quiet:
        print("%s: load_state_dict(strict=True) into torchvision %s DenseNet(%s): %s" %
              (path, _tv_version(), dict(CONFIG, num_classes=num_classes), result))
        print("  %d entries; logits on the fixture input: %s" % (len(state_dict), [round(v, 6) for v in logits.flatten().tolist()]))
    if expected is not None:
        diff = (logits - expected).abs().max().item()
        if not quiet:
            print("  max |logits - expected| = %.3g (expected from %s)" % (diff, sidecar))
        if diff > 1e-5:
            sys.exit("logits differ by %.3g" % diff)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="FILE", help="load FILE into torchvision's DenseNet with strict=True")
    args = parser.parse_args()
    if args.check:
        check(args.check)
    else:
        make()


if __name__ == "__main__":
    main()
