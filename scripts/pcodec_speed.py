#!/usr/bin/env python3
"""pcodec's bytes and speed on the same series `alicedb bench` measures, timed the same way.

For every `ts,value` CSV in FOLDER (or the files given): pcodec level 8 of the values (float64)
plus pcodec of the timestamps (int64; pcodec picks its delta order), losslessly; and at
FRACTION of each set's range (default 0.01) the "grid + pcodec" peer: values rounded to a grid
of 2 x bound, the grid indices (int64) by pcodec, plus the timestamps. Prints CSV: data set,
points, bound, bytes/point (timestamps and values), compress and decompress points/s (medians of
REPEATS runs, one core, Python's call overhead included, about a microsecond per call).

Needs numpy and pcodec: ../shared/tools/setup-peers.sh installs them into a virtual environment;
run this with that environment's python.
"""
import argparse, glob, os, statistics, sys, time

import numpy as np
from pcodec import ChunkConfig, standalone


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return a[:, 0].astype(np.int64), np.ascontiguousarray(a[:, 1])


def timed(arrays, repeats):
    config = ChunkConfig(compression_level=8)
    enc, dec, size = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        blobs = [standalone.simple_compress(a, config) for a in arrays]
        t1 = time.perf_counter()
        back = [standalone.simple_decompress(b) for b in blobs]
        t2 = time.perf_counter()
        enc.append(t1 - t0)
        dec.append(t2 - t1)
        size = sum(len(b) for b in blobs)
        for a, b in zip(arrays, back):
            assert np.array_equal(a, b)
    return size, statistics.median(enc), statistics.median(dec)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("paths", nargs="*", default=["../shared/datasets"])
    p.add_argument("--fraction", type=float, default=0.01)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    files = []
    for path in a.paths:
        files += sorted(glob.glob(os.path.join(path, "*.csv"))) if os.path.isdir(path) else [path]
    print("dataset,points,bound,bytes/pt,compress_pts/s,decompress_pts/s")
    for f in files:
        ts, v = load(f)
        n = len(v)
        name = os.path.basename(f)[:-4]
        size, enc, dec = timed([v, ts], a.repeats)
        print(f"{name},{n},0,{size / n:.3f},{n / enc:.0f},{n / dec:.0f}")
        if a.fraction > 0:
            bound = a.fraction * float(v.max() - v.min())
            grid = np.round(v / (2 * bound)).astype(np.int64) if bound > 0 else v.view(np.int64)
            size, enc, dec = timed([grid, ts], a.repeats)
            print(f"{name},{n},{a.fraction * 100:.2f}%,{size / n:.3f},{n / enc:.0f},{n / dec:.0f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
