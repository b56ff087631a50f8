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


def report_rounds(out, benchmark, metrics, rounds, settings, decimals=1):
    """metrics: (name, pick, better) with pick(side) giving a side's value;
    rounds: [{app: {"kernel": side, "oryx": side}}] in the order measured.
    Prints, per metric, the median kernel and Oryx values, the median of the
    per-round ratios and every round's ratio; writes JSON with all of it."""
    import statistics

    def sides(r, which):
        return {app: v[which] for app, v in r.items()}

    rows = []
    for name, pick, better in metrics:
        k = [pick(sides(r, "kernel")) for r in rounds]
        o = [pick(sides(r, "oryx")) for r in rounds]
        ratios = [b / a if a else 0 for a, b in zip(k, o)]
        rows.append({"metric": name, "kernel": statistics.median(k), "oryx": statistics.median(o),
                     "ratio": statistics.median(ratios), "ratios": ratios, "kernel_rounds": k,
                     "oryx_rounds": o, "better": better})
    width = max(len(r["metric"]) for r in rows) + 2
    print(f"\n{'metric':<{width}}{'kernel':>14}{'oryx':>14}{'median ratio':>14}  rounds")
    for r in rows:
        each = " ".join(f"{x:.2f}" for x in r["ratios"])
        print(f"{r['metric']:<{width}}{r['kernel']:>14,.{decimals}f}{r['oryx']:>14,.{decimals}f}"
              f"{r['ratio']:>14.2f}  {each}")
    json.dump({"benchmark": benchmark, "date": datetime.datetime.now().isoformat(timespec="seconds"),
               "host": platform.node(), "settings": settings, "rows": rows, "rounds": rounds},
              open(out, "w"), indent=2)
    print(f"\nwritten to {out}")
