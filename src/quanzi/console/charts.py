"""Plotly figures for the console, built as plain dicts and drawn by the bundled plotly.min.js."""

from __future__ import annotations

from typing import Any

from quanzi.console.selectors import DailyActivity

# One colour per kind, so a kind keeps its colour whatever else happened in the window.
KIND_COLOURS = {
    "join": "#0e7c66",
    "pay": "#e8590c",
    "message": "#3b5bdb",
    "order": "#f59f00",
    "visit": "#94a3b8",
    "referral": "#ae3ec9",
    "check_in": "#0ca678",
    "post": "#1098ad",
    "reply": "#5c7cfa",
    "vote": "#d6336c",
    "crystals": "#7048e8",
    "refund": "#c92a2a",
    "leave": "#868e96",
}
FALLBACK_COLOURS = ["#20c997", "#fab005", "#748ffc", "#ff8787", "#63e6be", "#a9e34b", "#ced4da"]
FONT = (
    '-apple-system, BlinkMacSystemFont, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans CJK KR", sans-serif'
)


def daily_activity_figure(data: DailyActivity) -> dict[str, Any]:
    """Stacked bars: activities per day, one trace per kind."""
    x = [day.isoformat() for day in data.days]
    spare = iter(FALLBACK_COLOURS * 4)
    traces = [
        {
            "type": "bar",
            "name": series.label,
            "x": x,
            "y": series.counts,
            "marker": {"color": KIND_COLOURS.get(series.kind) or next(spare, "#adb5bd")},
            "hovertemplate": "%{y}<extra>" + series.label + "</extra>",
        }
        for series in data.series
    ]
    layout = {
        "barmode": "stack",
        "bargap": 0.35,
        "margin": {"l": 36, "r": 8, "t": 8, "b": 8},
        "height": 320,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": "#475569"},
        "xaxis": {
            "type": "date",
            "tickformat": "%m/%d",
            "dtick": 7 * 24 * 3600 * 1000,
            "showgrid": False,
            "fixedrange": True,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "#e9eef0",
            "rangemode": "tozero",
            "fixedrange": True,
            "tickformat": ",d",
            "automargin": True,
        },
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": -0.12,
            "yanchor": "top",
            "traceorder": "normal",
        },
        "hoverlabel": {"font": {"family": FONT}},
        "hovermode": "x unified",
    }
    return {"data": traces, "layout": layout}
