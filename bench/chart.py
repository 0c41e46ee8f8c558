"""The benchmark's PNG: rps per scenario (log scale, min-max bars) and the ratios vs targets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.report import Measurement, Ratio, by_scenario, ratio_values, spread


def write_chart(
    measurements: Sequence[Measurement], ratios: Sequence[Ratio], path: Path, title: str
) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grouped = by_scenario(measurements)
    names = list(grouped)
    rps = [spread([m.rps for m in grouped[n]]) for n in names]
    ratio_spreads = [spread(ratio_values(measurements, r)) for r in ratios]

    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    left.bar(
        names,
        [s.median for s in rps],
        yerr=[[s.median - s.low for s in rps], [s.high - s.median for s in rps]],
        color="#4c72b0",
        capsize=4,
    )
    left.set_yscale("log")
    left.set_ylabel("requests per second (median, min-max)")
    left.set_title("throughput")
    left.tick_params(axis="x", rotation=30)
    plt.setp(left.get_xticklabels(), ha="right")
    for index, s in enumerate(rps):
        left.annotate(f"{s.median:,.0f}", (index, s.median), ha="center", va="bottom", fontsize=8)

    labels = [r.label for r in ratios]
    right.barh(
        labels,
        [s.median for s in ratio_spreads],
        xerr=[
            [s.median - s.low for s in ratio_spreads],
            [s.high - s.median for s in ratio_spreads],
        ],
        color=[
            "#c44e52" if r.met(s.median) is False else "#55a868"
            for r, s in zip(ratios, ratio_spreads, strict=True)
        ],
        capsize=4,
    )
    right.set_xscale("log")
    right.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.invert_yaxis()
    right.set_title("ratios (green: target met or none)")
    for index, (ratio, s) in enumerate(zip(ratios, ratio_spreads, strict=True)):
        target = ratio.target_label()
        text = f" {s.median:.2f}" + (f" ({target})" if target else "")
        right.annotate(text, (s.high, index), va="center", ha="left", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
