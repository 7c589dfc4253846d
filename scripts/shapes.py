#!/usr/bin/env python3
"""Writes `ts,value` CSVs of value shapes the shared data sets do not cover (100 000 points, 1 s
apart), for `alicedb bench DIR` beside `peers.py DIR`:

  double_noise   a slow sine plus gaussian noise, every double digit kept (computed values)
  float32_noise  the same through float32 (a sensor's float32 widened to double)
  smooth_double  a noiseless sine in full precision
  counter        a cumulative counter: increments uniform in 0..49
  big_decimal    a random walk near 1 234 567 printed with two decimals
  binary_state   a 0/1 state that flips with probability 1 % a reading
  reset_counter  a cumulative counter (increments uniform in 0..49) that drops back to 0 at random,
                 on average every 5 000 readings (an energy meter or packet counter restarted)
  smooth_wave    an oversampled waveform: three sines of 400 to 5 000 readings a period plus
                 gaussian noise of 0.05 % of the amplitude, four decimals (vibration, power quality)

usage: scripts/shapes.py OUT_DIR      (numpy; seed fixed)
"""
import os
import sys

import numpy as np


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    n = 100_000
    ts = np.arange(n) * 1000 + 1_700_000_000_000

    def write(name, values):
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write("ts,value\n")
            for t, v in zip(ts, values):
                f.write(f"{int(t)},{v}\n")

    wave = 20 + 3 * np.sin(np.arange(n) / 500)
    write("double_noise", [repr(float(x)) for x in wave + rng.normal(0, 0.05, n)])
    write("counter", [str(int(x)) for x in np.cumsum(rng.integers(0, 50, n))])
    write("big_decimal", [f"{x:.2f}" for x in 1234567 + np.cumsum(rng.normal(0, 1, n))])
    write("binary_state", [str(int(x)) for x in np.cumsum(rng.random(n) < 0.01) % 2])
    f32 = (wave + rng.normal(0, 0.05, n)).astype(np.float32).astype(np.float64)
    write("float32_noise", [repr(float(x)) for x in f32])
    write("smooth_double", [repr(float(x)) for x in np.sin(np.arange(n) / 1000) * 100])
    inc = rng.integers(0, 50, n)
    resets = rng.random(n) < 1 / 5000
    counter, total = [], 0
    for i in range(n):
        total = 0 if resets[i] else total + int(inc[i])
        counter.append(total)
    write("reset_counter", [str(x) for x in counter])
    k = np.arange(n)
    smooth = 50 * np.sin(2 * np.pi * k / 5000) + 20 * np.sin(2 * np.pi * k / 1300 + 1) + 8 * np.sin(2 * np.pi * k / 400)
    write("smooth_wave", [f"{x:.4f}" for x in smooth + rng.normal(0, 0.04, n)])


if __name__ == "__main__":
    main()
