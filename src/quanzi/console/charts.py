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


# -- health analytics ----------------------------------------------------------------------

TEAL, ORANGE, BLUE, RED, GREY = "#0e7c66", "#e8590c", "#3b5bdb", "#e03131", "#94a3b8"


def _layout(height: int = 300, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 44, "r": 12, "t": 8, "b": 8},
        "height": height,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": "#475569"},
        "hoverlabel": {"font": {"family": FONT}},
        "legend": {"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
    }
    layout.update(extra)
    return layout


def funnel_figure(labels: list[str], counts: list[int], conversions: list[str]) -> dict[str, Any]:
    """The conversion funnel, each step with its count and the conversion from the step before."""
    trace = {
        "type": "funnel",
        "y": labels,
        "x": counts,
        "text": conversions,
        "textinfo": "value+text",
        "marker": {"color": [TEAL, "#12b886", ORANGE, "#f76707", "#ae3ec9"][: len(labels)]},
        "connector": {"line": {"color": "#dee2e6"}},
        "hovertemplate": "%{y}: %{x}<extra></extra>",
    }
    layout = _layout(280, margin={"l": 110, "r": 12, "t": 8, "b": 8}, yaxis={"automargin": True})
    return {"data": [trace], "layout": layout}


def lines_figure(days: list[str], series: list[tuple[str, list[Any], str, bool]]) -> dict[str, Any]:
    """Daily lines; ``series`` is (name, values, colour, on the right-hand percent axis)."""
    traces = []
    for name, values, colour, right in series:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": days,
                "y": values,
                "line": {"color": colour, "width": 2, "dash": "dot" if right else "solid"},
                "yaxis": "y2" if right else "y",
                "hovertemplate": ("%{y:.0%}" if right else "%{y:,d}") + f"<extra>{name}</extra>",
            }
        )
    layout = _layout(
        300,
        hovermode="x unified",
        xaxis={"type": "date", "tickformat": "%m/%d", "showgrid": False, "fixedrange": True},
        yaxis={
            "gridcolor": "#e9eef0",
            "rangemode": "tozero",
            "fixedrange": True,
            "tickformat": ",d",
        },
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickformat": ".0%",
            "showgrid": False,
            "fixedrange": True,
        },
    )
    layout["margin"]["r"] = 44
    return {"data": traces, "layout": layout}


GREENS = [[0.0, "#f1f8f6"], [0.5, "#63c5ab"], [1.0, "#0b6654"]]
AMBERS = [[0.0, "#fff8ef"], [0.5, "#f8b26a"], [1.0, "#c2410c"]]


def heatmap_figure(
    x: list[str],
    y: list[str],
    z: list[list[float | None]],
    *,
    percent: bool = True,
    colours: list[list[Any]] | None = None,
    zmax: float = 1.0,
) -> dict[str, Any]:
    """A heatmap with each cell's value written in it (cohort retention, group overlap)."""
    text = [
        ["" if v is None else (f"{v:.0%}" if percent else f"{v:.2f}") for v in row] for row in z
    ]
    trace = {
        "type": "heatmap",
        "x": x,
        "y": y,
        "z": z,
        "text": text,
        "texttemplate": "%{text}",
        "colorscale": colours or GREENS,
        "zmin": 0,
        "zmax": zmax,
        "xgap": 2,
        "ygap": 2,
        "hoverongaps": False,
        "showscale": False,
        "hovertemplate": "%{y} · %{x}: %{text}<extra></extra>",
    }
    height = max(220, 34 * len(y) + 80)
    return {
        "data": [trace],
        "layout": _layout(
            height,
            margin={"l": 110, "r": 12, "t": 8, "b": 40},
            xaxis={"side": "bottom", "fixedrange": True, "type": "category", "automargin": True},
            yaxis={
                "autorange": "reversed",
                "fixedrange": True,
                "type": "category",
                "automargin": True,
            },
        ),
    }


def bars_figure(labels: list[str], values: list[int], colour: str = TEAL) -> dict[str, Any]:
    """Horizontal bars, largest on top."""
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": values,
        "marker": {"color": colour},
        "text": [f"{v:,}" for v in values],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x:,d}<extra></extra>",
    }
    return {
        "data": [trace],
        "layout": _layout(
            max(200, 30 * len(labels) + 40),
            margin={"l": 120, "r": 12, "t": 8, "b": 24},
            # automargin: long segment names (and their translations) are never clipped.
            yaxis={"autorange": "reversed", "fixedrange": True, "automargin": True},
            xaxis={"gridcolor": "#e9eef0", "fixedrange": True, "tickformat": ",d"},
        ),
    }
