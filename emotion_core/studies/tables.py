"""An ad report's tables as a reader sees them on a page: the comparison (metrics down, ads across,
figures with their intervals in words), the key moments, the manifest columns to split by.

    readable_compare(report)                 # a DataFrame: metric, one column per ad
    readable_moments(report, "ad_a")         # moment, when, value
    split_columns(report)                    # ['market', ...]: the manifest's attribute columns
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..adreport.html_report import METRICS, _value
from ..adreport.viewers import ALL


def readable_compare(report, segment: str = ALL) -> pd.DataFrame:
    """The compare table of `segment`: one row per metric (as report.html names it, attention left
    out when there are no landmarks), one column per ad: 'value [low, high]', and '▲ over ad_b'
    where the ad leads that ad beyond chance; then the viewers, the duration and the sample note."""
    rows = report.compare[report.compare["segment"] == segment]
    names = [*METRICS, *(column for column in rows.columns if column.startswith("share_")
                         and not column.endswith(("_low", "_high")))]
    table = []
    for name in names:
        if rows[name].isna().all():
            continue
        label = METRICS.get(name, (f"Share {name.removeprefix('share_')}",))[0]
        line = {"metric": label}
        for row in rows.to_dict("records"):
            leads = [lead.split(" > ")[1] for lead in str(row["beyond_chance"]).split("; ") if lead.startswith(f"{name} > ")]
            line[row["ad"]] = _figure_text(name, row) + (f" ▲ over {', '.join(leads)}" if leads else "")
        table.append(line)
    for label, column, unit in (("Viewers", "viewers", ""), ("Duration", "duration", " s"), ("Note", "note", "")):
        table.append({"metric": label, **{row["ad"]: f"{row[column]}{unit}" if row[column] != "" else ""
                                           for row in rows.to_dict("records")}})
    return pd.DataFrame(table)


def _figure_text(name: str, row: dict) -> str:
    """'+0.12 [−0.03, +0.25]' in plain text (report.html sets the range on a line of its own in HTML)."""
    text, low = _value(name, row[name]), row[f"{name}_low"]
    return text if math.isnan(low) else f"{text} [{_value(name, low)}, {_value(name, row[f'{name}_high'])}]"


def readable_moments(report, ad: str, segment: str = ALL) -> pd.DataFrame:
    """The ad's moments: which, when ('12 s', or '0–5 s' for a span), the value, and whether it is marked
    (a second that stands out beyond chance) or always reported (opening, ending, peak-end score)."""
    rows = report.moments[(report.moments["ad"] == ad) & (report.moments["segment"] == segment)]
    when = [("" if pd.isna(row.second) else f"{int(row.second)}–{int(row.until)} s" if row.until - row.second > 1
             else f"{int(row.second)} s") for row in rows.itertuples()]
    return pd.DataFrame({"moment": rows["moment"].tolist(), "when": when,
                         "value": [_value(row.moment, row.value) for row in rows.itertuples()],
                         "marked": rows["prominence"].notna().tolist()})


def split_columns(report) -> list[str]:
    """The manifest's attribute columns (not file, not offset): what the viewers can be split by."""
    manifest = report.facts.get("manifest")
    if not manifest or not Path(manifest).is_file():
        return []
    header = pd.read_csv(manifest, nrows=0, skipinitialspace=True).columns
    return [str(column).strip() for column in header if str(column).strip() not in ("file", "offset")]
