"""Plot a k6 run: request rate, errors and latency over time, as a PNG.

Usage: plot.py K6_CSV OUT_PNG TITLE [EVENTS_JSON]

K6_CSV is k6's `--out csv` file written with K6_CSV_TIME_FORMAT=unix_milli;
EVENTS_JSON, when given, is a drill result whose "events" list
([{"at_ms": unix ms, "what": "kill -9 api-1"}, ...]) is drawn as vertical
lines. Run by `cargo xtask load` and `cargo xtask drill` with the
virtualenv's Python (loadtest/requirements.txt).
"""

import csv
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    index = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[index]


def outcome(status, expected):
    if status == 0:
        return "transport error / timeout"
    if status in (503, 429):
        return f"{status} (shed)"
    if status >= 500:
        return "other 5xx"
    return "answered" if expected else "unexpected 4xx"


def main():
    csv_path, out_path, title = sys.argv[1], sys.argv[2], sys.argv[3]
    events = []
    if len(sys.argv) > 4:
        with open(sys.argv[4]) as f:
            events = json.load(f).get("events", [])

    rows = []
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            if row["metric_name"] != "http_req_duration":
                continue
            status = int(row["status"] or 0)
            rows.append(
                (
                    int(row["timestamp"]),
                    status,
                    float(row["metric_value"]),
                    row["expected_response"] == "true",
                )
            )
    if not rows:
        sys.exit(f"{csv_path}: no http_req_duration samples")
    start = min(r[0] for r in rows)

    per_second = defaultdict(lambda: defaultdict(int))
    latencies = defaultdict(list)
    for ts, status, duration, expected in rows:
        second = (ts - start) // 1000
        per_second[second][outcome(status, expected)] += 1
        latencies[second].append(duration)
    seconds = list(range(0, max(per_second) + 1))

    fig, (ax_rate, ax_err, ax_lat) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    fig.suptitle(title)
    colours = {
        "answered": "tab:green",
        "unexpected 4xx": "tab:olive",
        "503 (shed)": "tab:orange",
        "429 (shed)": "gold",
        "other 5xx": "tab:red",
        "transport error / timeout": "black",
    }
    bottom = [0] * len(seconds)
    for kind, colour in colours.items():
        values = [per_second[s].get(kind, 0) for s in seconds]
        if any(values):
            ax_rate.bar(seconds, values, bottom=bottom, width=1.0, color=colour, label=kind)
            bottom = [b + v for b, v in zip(bottom, values)]
    ax_rate.set_ylabel("requests / s")
    ax_rate.legend(loc="upper right", fontsize="small")

    for kind, colour in colours.items():
        if kind == "answered":
            continue
        values = [per_second[s].get(kind, 0) for s in seconds]
        if any(values):
            ax_err.plot(seconds, values, color=colour, label=kind, drawstyle="steps-mid")
    ax_err.set_ylabel("errors / s")
    if ax_err.get_legend_handles_labels()[0]:
        ax_err.legend(loc="upper right", fontsize="small")
    else:
        ax_err.text(0.5, 0.5, "no errors", transform=ax_err.transAxes, ha="center")

    for q, colour in ((0.5, "tab:blue"), (0.99, "tab:purple")):
        ax_lat.plot(
            seconds,
            [percentile(latencies[s], q) for s in seconds],
            color=colour,
            label=f"p{int(q * 100)}",
        )
    ax_lat.plot(seconds, [max(latencies[s], default=float("nan")) for s in seconds],
                color="grey", linestyle=":", label="max")
    ax_lat.axhline(500, color="tab:red", linestyle="--", linewidth=0.8, label="SLO p99 500 ms")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("latency ms")
    ax_lat.set_xlabel("seconds since the first request")
    ax_lat.legend(loc="upper right", fontsize="small")

    for event in events:
        x = (event["at_ms"] - start) / 1000.0
        for ax in (ax_rate, ax_err, ax_lat):
            ax.axvline(x, color="tab:red", linewidth=0.8, alpha=0.7)
        ax_rate.annotate(event["what"], (x, 1.0), xycoords=("data", "axes fraction"),
                         rotation=90, fontsize=7, va="top", ha="right")

    fig.tight_layout()
    fig.savefig(out_path, dpi=80)


if __name__ == "__main__":
    main()
