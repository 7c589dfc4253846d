#!/usr/bin/env python3
# %% [markdown]
# # A day of one series, plotted
#
# Reads one day of a series from a cloud node (`alicedb-cloud`) or a gateway agent
# (`alicedb-agent` with `[http] query = true`) through the Python client, and plots it with
# matplotlib to a PNG: every stored point, and the 15-minute minimum and maximum beside it.
#
#     pip install ./python matplotlib        # pandas is optional
#     python3 examples/plot_day.py --url http://127.0.0.1:8470 --token dev-reader \
#         --gateway gateway-1 --series sensors/boiler/temp --day 2026-12-01 --out boiler.png
#
# Against an agent: `--url http://127.0.0.1:9464 --token <its reader_token>`, no `--gateway`.
# Without `--day` it plots the last day that has data. Each `# %%` is a cell (VS Code, Jupyter).

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt
import numpy as np

from alicedb import Client

parser = argparse.ArgumentParser(description="Plot one day of an ALICE-DB series to a PNG.")
parser.add_argument("--url", default=os.environ.get("ALICEDB_URL", "http://127.0.0.1:8470"))
parser.add_argument("--token", default=os.environ.get("ALICEDB_TOKEN"))
parser.add_argument("--gateway", default=os.environ.get("ALICEDB_GATEWAY"))
parser.add_argument("--series", required=True)
parser.add_argument("--day", help="YYYY-MM-DD, UTC (default: the last day with data)")
parser.add_argument("--out", default="day.png")
args = parser.parse_args()

# %% Which day: the one asked for, or the last one the series has data on.
db = Client(args.url, args.token, gateway=args.gateway, frames=False)
info = db.stats(args.series)[0]
day = np.datetime64(args.day, "D") if args.day else info.last.astype("datetime64[D]")
start, end = day, day + np.timedelta64(1, "D") - np.timedelta64(1, "ms")
print(f"{args.series}: {info.points} points stored, {info.bytes_per_point:.2f} bytes/point; plotting {day}")

# %% The day's points (paged by the client), and a 15-minute envelope computed by the node.
points = db.scan(args.series, start, end)
low = db.downsample(args.series, "15m", "min", start, end)
high = db.downsample(args.series, "15m", "max", start, end)
summary = db.aggregate(args.series, start, end)
print(f"{len(points)} points that day: min {summary.min}, avg {summary.avg:.4g}, max {summary.max}")

# %% The plot.
fig, ax = plt.subplots(figsize=(11, 4), dpi=110)
if len(high):
    ax.fill_between(high.timestamps, low.values, high.values, step="post", color="tab:blue", alpha=0.15,
                    label="15-min min–max")
ax.plot(points.timestamps, points.values, lw=0.7, color="tab:blue", label=f"{len(points)} points")
ax.set_title(f"{args.series}" + (f" on {args.gateway}" if args.gateway else "") + f", {day} (UTC)")
ax.set_xlim(start, end)
ax.grid(alpha=0.3)
ax.legend(loc="upper right")
fig.autofmt_xdate()
fig.tight_layout()
fig.savefig(args.out)
print(f"wrote {args.out}")
