#!/usr/bin/env python3
"""make_io_data.py - write the .npy and .safetensors fixtures for
tests/unit/test_npy.c and tests/unit/test_safetensors.c.

The outputs are committed, so the C test suite never needs Python; rerun this
(python3 tests/data/io/make_io_data.py) only to change the fixtures.  Every
value is a simple function of np.arange or a fixed list, and the C tests
hard-code the same formulas, so they check our readers against what numpy and
the safetensors library really write.  Needs numpy and safetensors only.
"""
import json
import os
import struct

import numpy as np
from numpy.lib import format as npformat
from safetensors import deserialize
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def write_npy(name, arr, version=None):
    with open(out(name), "wb") as f:
        npformat.write_array(f, arr, version=version, allow_pickle=False)


# ---- .npy -------------------------------------------------------------------

# f4 (2, 3): i/4 - 0.5
a_f4 = (np.arange(6, dtype="<f4") / 4 - 0.5).reshape(2, 3)
np.save(out("f4_2x3.npy"), a_f4)
# f8 (5,): i/3
np.save(out("f8_5.npy"), np.arange(5, dtype="<f8") / 3)
# i4 (2, 3, 4): i - 12
np.save(out("i4_2x3x4.npy"), (np.arange(24, dtype="<i4") - 12).reshape(2, 3, 4))
# i8 (): -(2**40) - 7
np.save(out("i8_scalar.npy"), np.array(-(2**40) - 7, dtype="<i8"))
# f4 (2, 0): empty
np.save(out("f4_empty.npy"), np.zeros((2, 0), dtype="<f4"))
# version 2.0 and 3.0 headers, same data as f4_2x3
write_npy("f4_v2.npy", a_f4, version=(2, 0))
write_npy("f4_v3.npy", a_f4, version=(3, 0))

# Rejected files.
np.save(out("fortran.npy"), np.asfortranarray(a_f4))
np.save(out("bigendian.npy"), np.arange(4, dtype=">f4"))
np.save(out("f2.npy"), np.arange(4, dtype="<f2"))
np.save(out("bool.npy"), np.array([True, False, True]))
# (10,) f4 with the last 12 of its 40 data bytes cut off
np.save(out("truncated.npy"), np.arange(10, dtype="<f4"))
with open(out("truncated.npy"), "rb") as f:
    raw = f.read()
with open(out("truncated.npy"), "wb") as f:
    f.write(raw[:-12])

# ---- .safetensors -------------------------------------------------------------

# Every dtype numpy can write, via the safetensors library itself.
save_file(
    {
        "a": (np.arange(6, dtype=np.float32) / 4 - 0.5).reshape(2, 3),  # F32
        "scalar": np.array(3.5, dtype=np.float32),                     # F32 []
        "d": np.arange(3, dtype=np.float64) / 3 + 1,                   # F64
        "i64": np.array([-(2**40), -1, 0, 2**24], dtype=np.int64),
        "i32": np.arange(4, dtype=np.int32) * 1000 - 1500,
        "i16": np.array([-32768, -1, 0, 32767], dtype=np.int16),
        "i8": np.array([-128, -1, 0, 127], dtype=np.int8),
        "u8": np.array([0, 1, 128, 255], dtype=np.uint8),
        "mask": np.array([True, False, True], dtype=np.bool_),
        "empty": np.zeros((0, 3), dtype=np.float32),
    },
    out("all.safetensors"),
    metadata={"format": "np", "note": "loom test fixture"},
)

# F16 with the awkward values: subnormals, inf, nan, -0, max.
F16_VALUES = [1.0, -2.5, 2.0**-24, 2.0**-14 * 0.5, 2.0**-14, 65504.0,
              float("inf"), float("-inf"), float("nan"), -0.0, 0.1]
save_file({"h": np.array(F16_VALUES, dtype=np.float16)},
          out("f16.safetensors"))


def raw_safetensors(tensors, metadata=None):
    """Serialize by hand: tensors = [(name, dtype, shape, bytes)].  Used for
    BF16 (numpy has no bfloat16) and for deliberately broken files."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, buf, *span in tensors:
        begin = len(data)
        end = begin + (span[0] if span else len(buf))
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [begin, end]}
        data += buf
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


# BF16: the top half of float32 bits, for values exact in bfloat16, plus
# a subnormal (2**-133), the largest finite (0x7f7f) and the smallest
# subnormal (0x0001 = 2**-133).
BF16_VALUES = [1.0, -2.5, 2.0**-126, 2.0**-130, 2.0**-133,
               float("inf"), float("-inf"), float("nan"), -0.0, 0.1015625]
bits = (np.array(BF16_VALUES, dtype=np.float32).view(np.uint32) >> 16)
bits = np.concatenate([bits, np.array([0x7F7F, 0x0001], dtype=np.uint32)])
blob = raw_safetensors([("b", "BF16", [len(bits)],
                         bits.astype("<u2").tobytes())])
with open(out("bf16.safetensors"), "wb") as f:
    f.write(blob)
# Check the hand-written file against the reference parser.
assert deserialize(blob)[0][0] == "b"

# Truncated: all.safetensors with its last 5 bytes cut off.
with open(out("all.safetensors"), "rb") as f:
    raw = f.read()
with open(out("truncated.safetensors"), "wb") as f:
    f.write(raw[:-5])

# Bad offsets: F32 [5, 6] needs 120 bytes; the offsets span 100.
with open(out("bad_offsets.safetensors"), "wb") as f:
    f.write(raw_safetensors([("h.0.attn.c_attn.weight", "F32", [5, 6],
                              bytes(100))]))

# safetensors creates files 0600; make all fixtures plain readable files.
for name in os.listdir(HERE):
    if name.endswith((".npy", ".safetensors")):
        os.chmod(out(name), 0o644)

print("wrote fixtures to", HERE)
