"""Charts as Plotly figures (data + layout), drawn in the browser by the plotly.js that
ships inside the installed ``plotly`` package (served at /assets/plotly.min.js).

Figures are plain dicts built from columns: no per-point Python objects, and the page
embeds them as JSON that ``static/js/charts.js`` hands to ``Plotly.newPlot``. Every chart
on a page also has its numbers in a table beside it, for screen readers and for print.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from plotly.utils import PlotlyJSONEncoder

from mutua.web.i18n import gettext as _

BRAND = "#0b4f8a"
ACCENT = "#b35900"
FONT = "system-ui, 'Noto Sans CJK SC', 'PingFang SC', sans-serif"

# KDIGO GFR category boundaries, drawn as shaded bands behind the eGFR line.
G_BANDS = (("G1", 90, 130, "#e8f3ea"), ("G2", 60, 90, "#f1f7e6"), ("G3a", 45, 60, "#fdf6df"),
           ("G3b", 30, 45, "#fdeedd"), ("G4", 15, 30, "#fbe3dc"), ("G5", 0, 15, "#f6d6d6"))


def _layout(title: str, y_title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 16}},
        "font": {"family": FONT, "color": "#1b1b1b"},
        "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "gridcolor": "#e2e6ea"},
        # plotly.js names months in English ("Jan 2024"); dates are spelled out here instead,
        # the way the pages write them ("2024年1月" in Chinese).
        "xaxis": {"gridcolor": "#e2e6ea", "tickformat": _("%Y-%m"),
                  "hoverformat": _("%Y-%m-%d")},
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "showlegend": False,
    }
    layout.update(extra)
    return layout


def egfr_figure(dates: Sequence, egfr: Sequence[float]) -> dict:
    """eGFR over time with the KDIGO G bands behind it."""
    top = max([130.0, *[float(v) for v in egfr]])
    shapes = [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": lo,
               "y1": min(hi, top), "fillcolor": colour, "line": {"width": 0}, "layer": "below"}
              for _g, lo, hi, colour in G_BANDS]
    notes = [{"xref": "paper", "x": 1, "xanchor": "right", "yref": "y", "y": (lo + min(hi, top)) / 2,
              "text": g, "showarrow": False, "font": {"size": 11, "color": "#4a4a4a"}}
             for g, lo, hi, _c in G_BANDS]
    data = [{"type": "scatter", "mode": "lines+markers", "x": [str(d) for d in dates],
             "y": [round(float(v), 1) for v in egfr], "line": {"color": BRAND, "width": 3},
             "marker": {"size": 8}, "name": "eGFR",
             "hovertemplate": "%{x}: %{y} mL/min/1.73m²<extra></extra>"}]
    return {"data": data, "layout": _layout(_("eGFR over time"), "mL/min/1.73m²",
                                            shapes=shapes, annotations=notes,
                                            yaxis={"title": {"text": "mL/min/1.73m²"},
                                                   "range": [0, top]})}


def bar_figure(title: str, labels: Sequence[str], values: Sequence, y_title: str = "",
               colour: str = BRAND) -> dict:
    data = [{"type": "bar", "x": list(labels), "y": [float(v) for v in values],
             "marker": {"color": colour}}]
    return {"data": data, "layout": _layout(title, y_title)}


def lines_figure(title: str, x: Sequence, series: dict[str, Sequence], y_title: str = "",
                 percent: bool = False) -> dict:
    colours = [BRAND, ACCENT, "#1d6b2f", "#6b2f8a"]
    data = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": list(x),
             "y": [None if v is None else float(v) for v in values],
             "line": {"color": colours[i % len(colours)], "width": 3}}
            for i, (name, values) in enumerate(series.items())]
    layout = _layout(title, y_title, showlegend=len(series) > 1,
                     legend={"orientation": "h", "y": -0.2})
    if percent:
        layout["yaxis"]["tickformat"] = ".0%"
    return {"data": data, "layout": layout}


def to_json(figure: dict) -> str:
    """The figure as JSON safe to put inside a <script type="application/json"> element."""
    text = json.dumps(figure, cls=PlotlyJSONEncoder, ensure_ascii=False)
    return text.replace("</", "<\\/")
