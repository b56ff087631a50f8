# SPDX-License-Identifier: Apache-2.0
"""report.py - the kernel / Oryx / ratio table and JSON file every
kernel-versus-Oryx benchmark ends with (imported by stack.sh and apps.sh)."""
import datetime
import json
import platform


def report(out, benchmark, table, raw, decimals=1):
    """table: (metric, kernel, oryx, better) rows, better "higher" or "lower"."""
    width = max(len(row[0]) for row in table) + 2
    print(f"\n{'metric':<{width}}{'kernel':>14}{'oryx':>14}{'oryx/kernel':>13}")
    for name, k, o, _ in table:
        print(f"{name:<{width}}{k:>14,.{decimals}f}{o:>14,.{decimals}f}{(o / k if k else 0):>13.2f}")
    json.dump({"benchmark": benchmark, "date": datetime.datetime.now().isoformat(timespec="seconds"),
               "host": platform.node(),
               "rows": [{"metric": n, "kernel": k, "oryx": o, "ratio": (o / k if k else 0),
                         "better": b} for n, k, o, b in table],
               "raw": raw}, open(out, "w"), indent=2)
    print(f"\nwritten to {out}")
