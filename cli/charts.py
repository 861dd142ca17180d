"""Charts of the HTML reports: Vega-Lite specifications built with Altair, drawn to SVG offline.

vl-convert runs Vega in process (no browser, no network: ``allowed_base_urls=[]``),
with the reader's number locale, so an axis reads ``1 234 567 €`` (``€1,234,567`` in
English). The SVG it returns is then re-written keeping only drawing elements and attributes (no script, no
link, no event handler, no external reference): a chart is a picture, whatever
text its data holds. Every bar carries ``aria-roledescription="bar"``; the browser
tests count them against the data.

Colours step in lightness as well as in hue (relative luminance 0.03 to 0.84), so a
series stays apart from the next one when the page is printed in grey; the
stacked bars have a thin dark outline for the lightest ones.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ElementTree

__all__ = ["Chart", "Cell", "PALETTE", "grouped_bars", "stacked_bars", "histogram", "sanitise_svg"]

# Dark to light, eight hues whose relative luminance steps from 0.03 to 0.84 (0.05 to 0.2
# apart): on a greyscale print each series is a different grey, in the legend's order.
PALETTE = ("#163156", "#73411d", "#1e774a", "#b162d8", "#c79532", "#72c1dc", "#f0c4da", "#f1eec8")
# Two series compared (baseline, proposal): light then dark.
PAIR = ("#a3c4dc", "#17355e")
_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# English numbers with the euro sign before them (en-US would write dollars).
_ENGLISH_EUROS = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]}
_WIDTH = 560
_SVG = "http://www.w3.org/2000/svg"

# What a chart's SVG may hold: Vega's drawing vocabulary, nothing that runs or fetches.
_ELEMENTS = {"svg", "g", "path", "rect", "line", "text", "tspan", "circle", "title", "desc",
             "defs", "clipPath", "linearGradient", "stop"}
_ATTRIBUTES = {
    "class", "role", "aria-label", "aria-roledescription", "aria-hidden", "width", "height", "viewBox",
    "version", "x", "y", "x1", "x2", "y1", "y2", "dx", "dy", "d", "r", "cx", "cy", "transform", "fill",
    "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-miterlimit", "stroke-dasharray",
    "stroke-linecap", "stroke-linejoin", "opacity", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "pointer-events", "display", "id", "clip-path", "offset", "stop-color", "stop-opacity",
    "dominant-baseline", "gradientUnits",
}


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell of a chart's data table: the text shown, and whether it is a value drawn as a bar.

    A cell may instead hold several values, one per line (``parts``: (prefix, text,
    drawn) each), e.g. a maximum under two texts.
    """

    text: str = ""
    mark: bool = False
    numeric: bool = False
    parts: tuple = ()
    json: str | None = None  # where the same figure sits in the command's JSON document


@dataclasses.dataclass(frozen=True)
class Chart:
    """A chart and its data table: ``marks`` bars are drawn, one per cell marked ``mark``."""

    title: str
    svg: str
    columns: tuple
    rows: tuple  # tuples of Cell
    marks: int
    note: str = ""


def sanitise_svg(svg: str) -> str:
    """The SVG with only drawing elements and attributes; anything else is dropped.

    >>> sanitise_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script>'
    ...              '<rect width="1" onclick="x()"/><text>a &lt;b&gt;</text></svg>')
    '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" /><text>a &lt;b&gt;</text></svg>'
    """
    root = ElementTree.fromstring(svg)

    def clean(node):
        for child in list(node):
            if child.tag.removeprefix("{" + _SVG + "}") not in _ELEMENTS:
                node.remove(child)
            else:
                clean(child)
        for name in list(node.attrib):
            value = node.attrib[name]
            if name not in _ATTRIBUTES or "url(" in value and name != "clip-path":
                del node.attrib[name]
            elif name == "clip-path" and not value.startswith("url(#"):
                del node.attrib[name]

    clean(root)
    ElementTree.register_namespace("", _SVG)
    return ElementTree.tostring(root, encoding="unicode")


def _draw(chart) -> str:
    import vl_convert

    spec = chart.configure(font=_FONT).configure_view(stroke=None).to_dict()
    import markupsafe

    from .i18n import language

    svg = vl_convert.vegalite_to_svg(spec, format_locale=_ENGLISH_EUROS if language() == "en" else "fr-FR",
                                     allowed_base_urls=[])
    # Markup: the templates insert it as is; it holds only what sanitise_svg kept.
    return markupsafe.Markup(sanitise_svg(svg))


def _alt():
    import altair

    return altair


def _euro_axis(title):
    alt = _alt()
    return alt.Axis(format="$,.0f", title=title, labelFlush=False, labelOverlap=True, tickCount=6)


def _count_axis(title, largest):
    # Whole numbers only: with few CPTS, let the ticks be 0, 1, 2 … rather than 0.5 shown as "1".
    alt = _alt()
    values = list(range(0, largest + 1)) if largest <= 8 else alt.Undefined
    return alt.Axis(format=",d", title=title, tickMinStep=1, values=values, labelOverlap=True)


def grouped_bars(values, *, category, series, amount, category_title, amount_title, series_order,
                 colours=PAIR, horizontal=False, height=220):
    """Bars of ``amount`` per ``category``, one beside the other per ``series`` (e.g. two texts).

    ``values`` are dicts with those keys (amounts as floats: the chart only places
    bars; the exact figures are in the data table). Returns the SVG text.
    """
    alt = _alt()
    scale = alt.Scale(domain=list(series_order), range=list(colours[:len(series_order)]))
    base = alt.Chart(alt.Data(values=list(values))).mark_bar(stroke="#333", strokeWidth=0.4)
    legend = alt.Legend(title=None, orient="top") if len(series_order) > 1 else None
    categories = list(dict.fromkeys(v[category] for v in values))
    if horizontal:
        chart = base.encode(
            y=alt.Y(f"{category}:N", title=category_title, sort=categories, axis=alt.Axis(labelLimit=220)),
            yOffset=alt.YOffset(f"{series}:N", sort=list(series_order)),
            x=alt.X(f"{amount}:Q", axis=_euro_axis(amount_title)),
            color=alt.Color(f"{series}:N", scale=scale, legend=legend),
        ).properties(width=_WIDTH - 200, height=alt.Step(14))
    else:
        chart = base.encode(
            x=alt.X(f"{category}:N", title=category_title, sort=categories, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset(f"{series}:N", sort=list(series_order)),
            y=alt.Y(f"{amount}:Q", axis=_euro_axis(amount_title)),
            color=alt.Color(f"{series}:N", scale=scale, legend=legend),
        ).properties(width=_WIDTH, height=height)
    return _draw(chart)


def stacked_bars(values, *, category, stack, amount, category_title, amount_title, stack_order,
                 category_type="N", offset=None, offset_order=(), height=240, label_angle=0):
    """Bars of ``amount`` per ``category``, stacked by ``stack`` (a volet, a mission), optionally
    side by side per ``offset`` (two texts). Returns the SVG text."""
    alt = _alt()
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(stack_order))]
    categories = list(dict.fromkeys(v[category] for v in values))
    encoding = {
        "x": alt.X(f"{category}:{category_type}", title=category_title, sort=categories,
                   axis=alt.Axis(labelAngle=label_angle)),
        "y": alt.Y(f"{amount}:Q", axis=_euro_axis(amount_title), stack="zero"),
        "color": alt.Color(f"{stack}:N", scale=alt.Scale(domain=list(stack_order), range=colours),
                           legend=alt.Legend(title=None, orient="right", labelLimit=200)),
        "order": alt.Order("stack_index:Q"),
    }
    if offset:
        encoding["xOffset"] = alt.XOffset(f"{offset}:N", sort=list(offset_order))
    rows = [{**v, "stack_index": list(stack_order).index(v[stack])} for v in values]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar(stroke="#333", strokeWidth=0.4).encode(
        **encoding).properties(width=_WIDTH - 120, height=height)
    return _draw(chart)


def histogram(values, *, amount_title, count_title):
    """Bars of counts over bins ``{"low", "high", "count", "sign"}`` (amounts as floats)."""
    alt = _alt()
    from .i18n import _

    # The same words as the bins' "sign" (cli/html.py), in the reader's language.
    scale = alt.Scale(domain=[_("decrease"), _("increase")], range=[PALETTE[1], PAIR[0]])  # dark and light
    chart = alt.Chart(alt.Data(values=list(values))).mark_bar(stroke="#333", strokeWidth=0.4).encode(
        x=alt.X("low:Q", bin="binned", axis=_euro_axis(amount_title)),
        x2="high:Q",
        y=alt.Y("count:Q", axis=_count_axis(count_title, max(v["count"] for v in values))),
        color=alt.Color("sign:N", scale=scale, legend=alt.Legend(title=None, orient="top")),
    ).properties(width=_WIDTH, height=200)
    return _draw(chart)


def count_bars(values, *, category, count, category_title, count_title):
    """One bar per category of a count (gainers, losers ...), labelled with the count."""
    alt = _alt()
    categories = [v[category] for v in values]
    base = alt.Chart(alt.Data(values=list(values)))
    bars = base.mark_bar(color=PALETTE[0]).encode(
        y=alt.Y(f"{category}:N", title=category_title, sort=categories),
        x=alt.X(f"{count}:Q", axis=_count_axis(count_title, max(v[count] for v in values))))
    labels = base.mark_text(align="left", dx=3, fontSize=11).encode(
        y=alt.Y(f"{category}:N", sort=categories), x=f"{count}:Q", text=alt.Text(f"{count}:Q", format=",d"))
    return _draw((bars + labels).properties(width=_WIDTH - 180, height=alt.Step(22)))


def share_bars(values, *, category, done, total, category_title, share_title, colour=None):
    """One horizontal bar per category: the share ``done`` / ``total`` (0 to 100 %), each bar
    labelled with its two counts (``values`` are dicts with those keys). Returns the SVG text."""
    alt = _alt()
    rows = [{**v, "part": (v[done] / v[total]) if v[total] else 1.0, "label": f"{v[done]}/{v[total]}"}
            for v in values]
    categories = [v[category] for v in rows]
    base = alt.Chart(alt.Data(values=rows))
    scale = alt.Scale(domain=[0, 1])
    bars = base.mark_bar(color=colour or PALETTE[0]).encode(
        y=alt.Y(f"{category}:N", title=category_title, sort=categories, axis=alt.Axis(labelLimit=260)),
        x=alt.X("part:Q", scale=scale, axis=alt.Axis(format="%", title=share_title, tickCount=5)))
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(
        y=alt.Y(f"{category}:N", sort=categories), x=alt.X("part:Q", scale=scale), text="label:N")
    return _draw((bars + labels).properties(width=_WIDTH - 260, height=alt.Step(18)))
