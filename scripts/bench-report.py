#!/usr/bin/env python3
"""Merges `alicedb bench --format csv` with peers.py output into the markdown tables of
docs/benchmarks.md.

usage: scripts/bench-report.py BENCH.csv PEERS_1PCT.txt [PEERS_0.1PCT.txt]
"""
import csv
import sys


def peers(path):
    rows = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 10 and parts[1].isdigit():
            name = parts[0]
            keys = ["points", "raw", "ts_zstd", "zstd19", "xz9", "pcodec", "zfp", "sz3", "qpco"]
            rows[name] = dict(zip(keys, [p.rstrip("!") for p in parts[1:10]]))
    return rows


def mean(xs):
    xs = [float(x) for x in xs]
    return sum(xs) / len(xs) if xs else float("nan")


def main():
    bench = list(csv.DictReader(open(sys.argv[1])))
    p1 = peers(sys.argv[2])
    p01 = peers(sys.argv[3]) if len(sys.argv) > 3 else {}
    by = {}
    for r in bench:
        if r["dataset"] == "MEAN":
            continue
        by.setdefault(r["dataset"], {})[r["bound"]] = r
    bounds = sorted({r["bound"] for r in bench if r["bound"] != "0"}, key=lambda b: -float(b.rstrip("%")))
    print("### Lossless (bound 0), bytes/point, all bytes counted\n")
    print("| data set | points | **alicedb** | pcodec | xz -9 | zstd -19 | alicedb models |")
    print("|---|---:|---:|---:|---:|---:|---|")
    cols = {"a": [], "pcodec": [], "xz9": [], "zstd19": []}
    for name in sorted(by):
        r = by[name].get("0")
        p = p1.get(name, {})
        if not r:
            continue
        cols["a"].append(r["bytes/pt"])
        for k in ("pcodec", "xz9", "zstd19"):
            if k in p:
                cols[k].append(p[k])
        best = min(float(p.get("pcodec", 99)), float(p.get("xz9", 99)))
        mark = "" if float(r["bytes/pt"]) < best else " ⚠"
        print(f"| {name} | {r['points']} | **{r['bytes/pt']}**{mark} | {p.get('pcodec','')} | {p.get('xz9','')} | {p.get('zstd19','')} | {r['models']} |")
    print(f"| **mean** | | **{mean(cols['a']):.3f}** | {mean(cols['pcodec']):.3f} | {mean(cols['xz9']):.3f} | {mean(cols['zstd19']):.3f} | |")
    for b in bounds:
        src = p1 if b == "1.00%" else p01
        print(f"\n### Bound {b} of the value range (absolute), bytes/point\n")
        print("| data set | **alicedb** | max err / bound | SZ3 | grid+pcodec | zfp | alicedb models |")
        print("|---|---:|---:|---:|---:|---:|---|")
        cols = {"a": [], "sz3": [], "qpco": [], "zfp": []}
        for name in sorted(by):
            r = by[name].get(b)
            if not r:
                continue
            p = src.get(name, {})
            cols["a"].append(r["bytes/pt"])
            for k in ("sz3", "qpco", "zfp"):
                if k in p:
                    cols[k].append(p[k])
            print(f"| {name} | **{r['bytes/pt']}** | {r['max_err/bound']} | {p.get('sz3','')} | {p.get('qpco','')} | {p.get('zfp','')} | {r['models']} |")
        print(f"| **mean** | **{mean(cols['a']):.3f}** | | {mean(cols['sz3']):.3f} | {mean(cols['qpco']):.3f} | {mean(cols['zfp']):.3f} | |")
    print("\n### Speed (one core; medians where repeated)\n")
    print("| data set | bound | import (putBatch + fit + verify + write) pts/s | encode pts/s | decode pts/s | point query ns | scan ns/pt | whole-series aggregate µs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in sorted(by):
        for b in ["0"] + bounds:
            r = by[name].get(b)
            if r:
                print(f"| {name} | {b} | {int(float(r['import_pts/s'])):,} | {int(float(r['encode_pts/s'])):,} | {int(float(r['decode_pts/s'])):,} | {r['get_ns']} | {r['scan_ns/pt']} | {r['agg_us']} |")


main()
