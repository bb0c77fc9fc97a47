"""report.html: the report as one self-contained page (figures embedded as data URIs, no network, no
external script or style), rendered from the report's own report.md and the figures beside it.

The page says what report.md says, section by section: it renders the markdown the report writes
(headings, paragraphs, lists, tables, bold, code, images), so every row, column, verdict string and
note of report.md shows here without code of its own. On top: a table cell whose bold text (or whole
text) starts with a verdict is coloured by it, and a table with verdicts sorts by a column when its
title is clicked (verdict, then the score the cell starts with; again to reverse).
"""
import base64
import html
import os
import re

from ..files import atomic_path

#: Background colour of a cell by its verdict's first word; any other bold word in a table is uncoloured.
VERDICT_COLOURS = {"pass": "#c8e6c9", "fail": "#ffcdd2", "inconclusive": "#fff3c4", "invalid": "#d7ccf0"}
#: Sort rank of a verdict (unknown verdicts after these, empty cells last).
VERDICT_ORDER = ("pass", "inconclusive", "fail", "invalid")

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1400px;
       padding: 0 1em; color: #222; line-height: 1.45; }
div.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
caption { caption-side: bottom; text-align: left; font-size: 0.85em; color: #666; padding-top: 0.3em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
table.sortable th { cursor: pointer; }
table.sortable th::after { content: " \\21C5"; color: #888; }
td.verdict { min-width: 7.5em; }
td.verdict .interval { font-size: 0.85em; color: #444; white-space: nowrap; }
%s
img { max-width: 100%%; height: auto; display: block; margin: 0.5em 0; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 0.2em; }
.missing { color: #a00; }
"""

_SCRIPT = """
(function () {
  var order = %s;
  function rank(cell) {
    var v = cell.getAttribute("data-verdict");
    if (!v) { return cell.textContent.trim() ? order.length : order.length + 1; }
    var i = order.indexOf(v);
    return i < 0 ? order.length : i;
  }
  function score(cell) {
    var m = cell.textContent.match(/-?\\d+(\\.\\d+)?(e[-+]?\\d+)?/i);
    return m ? parseFloat(m[0]) : Infinity;
  }
  function compare(a, b, column, numeric) {
    var x = a.cells[column], y = b.cells[column];
    if (!numeric) { return x.textContent.localeCompare(y.textContent); }
    return (rank(x) - rank(y)) || (score(x) - score(y)) || (Number(a.getAttribute("data-row")) - Number(b.getAttribute("data-row")));
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var body = table.tBodies[0];
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.title = "sort by this column (click again to reverse)";
      th.addEventListener("click", function () {
        var down = th.getAttribute("data-sorted") === "up";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("data-sorted"); });
        th.setAttribute("data-sorted", down ? "down" : "up");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { var c = compare(a, b, column, column > 0); return down ? -c : c; });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


def _inline(text):
    """Markdown inline spans of our reports (code, bold, images, links) as HTML, the rest escaped."""
    out, pos = [], 0
    for match in re.finditer(r"`([^`]*)`", text):
        out.append(_spans(text[pos:match.start()]))
        out.append(f"<code>{html.escape(match.group(1))}</code>")
        pos = match.end()
    out.append(_spans(text[pos:]))
    return "".join(out)


def _spans(text):
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", lambda m: f'<strong{_verdict_class(m.group(1))}>{m.group(1)}</strong>', text)
    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', text)


def _verdict(text):
    """The verdict a piece of text starts with (lower case, e.g. 'pass' of 'pass (3 images)'), or ''."""
    word = re.match(r"\s*([A-Za-z][\w-]*)", html.unescape(re.sub(r"<[^>]+>", "", text)))
    return word.group(1).lower() if word and word.group(1).lower() in VERDICT_COLOURS else ""


def _verdict_class(text):
    verdict = _verdict(text)
    return f' class="v-{verdict}"' if verdict else ""


def _cell_verdict(cell_markdown):
    """A table cell's verdict: the first bold text's first word, or the whole cell's when it is one word."""
    bold = re.findall(r"\*\*(.+?)\*\*", cell_markdown)
    verdict = _verdict(bold[-1]) if bold else ""
    if not verdict and re.fullmatch(r"\s*[A-Za-z]+\s*", cell_markdown):
        verdict = _verdict(cell_markdown)
    return verdict


def _cells(line):
    line = line.strip()
    return [c.strip() for c in line[1:-1 if line.endswith("|") else None].split("|")]


def _table(lines):
    header, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    verdicts = [[_cell_verdict(c) for c in row] for row in body]
    sortable = any(any(row) for row in verdicts)
    caption = ("<caption>click a column's title to sort the rows by its verdict, then score; again to reverse"
               "</caption>" if sortable else "")
    out = ['<div class="wide">', ('<table class="sortable">' if sortable else "<table>") + caption, "<thead><tr>"
           + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr></thead>", "<tbody>"]
    for i, (row, row_verdicts) in enumerate(zip(body, verdicts)):
        cells = []
        for cell, verdict in zip(row, row_verdicts):
            attributes = f' class="verdict v-{verdict}" data-verdict="{verdict}"' if verdict else ""
            text = _inline(cell)
            if verdict:   # the interval a little smaller, on a line of its own when the column is narrow
                text = re.sub(r"(\[[^\]<]*\])", r'<span class="interval">\1</span>', text, count=1)
            cells.append(f"<td{attributes}>{text}</td>")
        out.append(f'<tr data-row="{i}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _image(alt, source, folder):
    path = os.path.join(folder, source)
    if not re.fullmatch(r"[\w.\-]+\.png", source) or not os.path.isfile(path):
        return f'<p class="missing">figure {html.escape(source)} not found</p>'
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def markdown_to_html(text, folder):
    """The block structure of our markdown (headings, fenced code, tables, lists, image lines, paragraphs)
    as HTML; images are read from ``folder`` and embedded."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            code = html.escape("\n".join(lines[i + 1:end]))
            block = f"<pre><code>{code}</code></pre>"
            out.append(f"<details><summary>{end - i - 1} lines</summary>{block}</details>" if end - i > 20 else block)
            i = end + 1
        elif re.match(r"#{1,6} ", line):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith("|")), len(lines))
            out.append(_table(lines[i:end]))
            i = end
        elif re.match(r"\s*!\[[^\]]*\]\([^)]+\)\s*$", line):
            alt, source = re.match(r"\s*!\[([^\]]*)\]\(([^)]+)\)", line).groups()
            out.append(_image(alt, source, folder))
            i += 1
        elif re.match(r"[-*] ", line):
            items = []
            while i < len(lines) and (re.match(r"[-*] ", lines[i]) or (lines[i].startswith("  ") and items)):
                if re.match(r"[-*] ", lines[i]):
                    items.append(lines[i][2:].strip())
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"(#{1,6} |```|\||[-*] |\s*!\[)", lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(out)


def render(text, folder, title="Sanity-check report"):
    """The whole page from report.md's text, its figures read from ``folder``."""
    import json

    colours = "\n".join(f".v-{v} {{ background: {c}; }}" for v, c in VERDICT_COLOURS.items())
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE % colours}</style>\n</head>\n<body>\n"
            f"{markdown_to_html(text, folder)}\n<script>{_SCRIPT % json.dumps(list(VERDICT_ORDER))}</script>\n"
            "</body>\n</html>\n")


def write_html(out, report="report.md", name="report.html"):
    """``out``/report.html from ``out``/report.md and the figures it names (PNGs in ``out``), written atomically;
    returns its path. Needs nothing but the report's folder, so a finished report can be rendered again."""
    with open(os.path.join(out, report), encoding="utf-8") as f:
        text = f.read()
    path = os.path.join(out, name)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(render(text, out))
    return path
