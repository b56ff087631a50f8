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
    # This VM runs in two modes (about 9 and 28 Mpps) that change from one
    # process start to the next, whatever the path: the best round of each
    # path is its capability, the median is shown beside it.
    base_best = max(paths["plain"]["rates"])
    base_median = statistics.median(paths["plain"]["rates"])
    print(f"\n{'path':<36}{'best fps':>13}{'ratio':>8}{'median fps':>13}{'ratio':>8}{'target':>9}")
    rows = []
    for name, p in paths.items():
        best, median = max(p["rates"]), statistics.median(p["rates"])
        ratio = best / base_best if base_best else 0.0
        ratio_median = median / base_median if base_median else 0.0
        target = TARGETS.get(name)
        print(f"{LABELS[name]:<36}{best:>13,.0f}{ratio:>8.3f}{median:>13,.0f}{ratio_median:>8.3f}"
              f"{('>= %.1f' % target) if target else '':>9}")
        rows.append({"path": name, "best_fps": best, "ratio": round(ratio, 3),
                     "median_fps": median, "ratio_median": round(ratio_median, 3),
                     "target": target, "fps": p["rates"], "generator_fps": p["sent"]})
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
