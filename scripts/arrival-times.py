#!/usr/bin/env python3
"""Writes CSVs of arrival-time clocks (the timestamps a gateway stamps on MQTT readings) around the
values of a data set, for measuring timestamp coding: `alicedb import` each (exactly, or with
`--time-tolerance 25` to store them within 25 ms of the arrival times), then `alicedb inspect` shows
the timestamp bytes per segment.

usage: scripts/arrival-times.py VALUES.csv OUT_DIR [N]

clocks (1 s period unless said):
  latency        the sensor's clock is exact; each reading arrives 0-25 ms late
  latency_gaps   as latency, 1 % of readings missing
  drift_latency  a clock 0.3 ms a second slow, 0-25 ms late
  timer_restart  the sensor waits 1 003-1 013 ms after each send: delays accumulate
  walk_latency   both: 1 003-1 007 ms waits, then 0-25 ms late
  loopback       a 100 ms clock, 0-2 ms late
"""
import os
import random
import sys


def clock(name, n, r):
    t, x, s, i = [], 0, 0.0, 0
    while len(t) < n:
        if name == "latency":
            t.append(len(t) * 1000 + r.randint(0, 25))
        elif name == "latency_gaps":
            if r.random() > 0.01:
                t.append(i * 1000 + r.randint(0, 25))
            i += 1
        elif name == "drift_latency":
            s += 1000.3
            t.append(int(s) + r.randint(0, 25))
        elif name == "timer_restart":
            x += 1003 + r.randint(0, 10)
            t.append(x)
        elif name == "walk_latency":
            x += 1003 + r.randint(0, 4)
            t.append(x + r.randint(0, 25))
        else:  # loopback
            t.append(len(t) * 100 + r.randint(0, 2))
    return t


def main():
    values = [line.split(",")[1] for line in open(sys.argv[1]).read().split("\n")[1:] if line]
    out = sys.argv[2]
    n = min(int(sys.argv[3]) if len(sys.argv) > 3 else 40000, len(values))
    os.makedirs(out, exist_ok=True)
    names = ["latency", "latency_gaps", "drift_latency", "timer_restart", "walk_latency", "loopback"]
    for k, name in enumerate(names):
        ts = clock(name, n, random.Random(k + 1))
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write("ts,value\n")
            for t, v in zip(ts, values):
                f.write(f"{1_700_000_000_000 + t},{v}\n")


if __name__ == "__main__":
    main()
