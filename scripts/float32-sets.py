#!/usr/bin/env python3
"""Writes every `ts,value` CSV of a folder again with its values stored as float32 and widened
back to double (what a sensor's float32 becomes in a double column: 88.51872 -> 88.51872253417969),
printed with repr so they parse to those exact doubles. For measuring lossless coding of float32
data: `alicedb bench OUT_DIR` beside `peers.py OUT_DIR`.

usage: scripts/float32-sets.py SRC_DIR OUT_DIR
"""
import os
import struct
import sys


def widen(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".csv"):
            continue
        lines = open(os.path.join(src, name)).read().split("\n")
        with open(os.path.join(out, name), "w") as f:
            f.write(lines[0] + "\n")
            for line in lines[1:]:
                if not line:
                    continue
                t, v = line.split(",")
                f.write(f"{t},{repr(widen(float(v)))}\n")


if __name__ == "__main__":
    main()
