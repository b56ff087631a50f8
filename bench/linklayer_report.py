# SPDX-License-Identifier: Apache-2.0
"""linklayer_report.py - the table and JSON of bench/linklayer.sh.
Usage: linklayer_report.py OUT DURATION "SEEN WRITTEN DROPPED" PATH:RATES:SENTS..."""
import datetime
import json
import platform
import statistics
import sys

TARGETS = {"vlan": 0.9, "nomatch": 0.9, "all": 0.5}
LABELS = {"plain": "xconnect alone (baseline)", "vlan": "+ VLAN untag/tag",
          "nomatch": "+ capture, filter matches nothing", "all": "+ capture of every packet"}


def main():
    out, duration, capture = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
    paths = {}
    for arg in sys.argv[4:]:
        name, rates, sents = arg.split(":")
        paths[name] = {"rates": [int(x) for x in rates.split()],
                       "sent": [int(x) for x in sents.split()]}
    # This VM switches between speeds (about 8, 16 and 27 Mpps) from one
    # process start to the next, whatever the path, and a speed tends to
    # hold for a while: each round's paths are compared with the same
    # round's baseline, and the median of those ratios is the result.
    plain = paths["plain"]["rates"]
    print(f"\n{'path':<36}{'ratio per round':>34}{'median':>8}{'target':>9}")
    rows = []
    for name, p in paths.items():
        ratios = [r / b if b else 0.0 for r, b in zip(p["rates"], plain)]
        median = statistics.median(ratios)
        target = TARGETS.get(name)
        print(f"{LABELS[name]:<36}{' '.join(f'{r:.2f}' for r in ratios):>34}{median:>8.3f}"
              f"{('>= %.1f' % target) if target else '':>9}")
        rows.append({"path": name, "ratio": round(median, 3),
                     "ratios": [round(r, 3) for r in ratios], "target": target,
                     "fps": p["rates"], "generator_fps": p["sent"]})
    seen, written, dropped = (int(x) for x in capture)
    print(f"\ncapture of every packet (last round): {seen:,} seen, {written:,} written, "
          f"{dropped:,} copies dropped")
    json.dump({"benchmark": "linklayer-xconnect-memif",
               "date": datetime.datetime.now().isoformat(timespec="seconds"),
               "host": platform.node(), "duration_s": duration, "rows": rows,
               "capture_all_last_round": {"seen": seen, "written": written, "dropped": dropped}},
              open(out, "w"), indent=2)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
