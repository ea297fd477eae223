"""Fixes for what the browser test (tests/site) found wrong on Jupyter Book 1 pages.

Each handler below changes what Sphinx writes for a page, and says which problem it fixes. The rest
of the fixes are configuration (_config.yml), two template overrides (book/_templates) and CSS
(book/_static/site.css).
"""
from __future__ import annotations

import html
import json
import re

from docutils import nodes

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', re.S)
#: How widget models name each other: "IPY_MODEL_<id>" in a model's state, "model_id" in an Output
#: widget's stored outputs.
MODEL_REFERENCE = re.compile(r'IPY_MODEL_([0-9a-f]{32})|"model_id": "([0-9a-f]{32})"')
ALT_TEXT = re.compile(r'\balt=\\"(.*?)\\"')
#: Tables with this many columns become one block per row, each cell labelled, on a phone (site.css).
STACKED_TABLE_COLUMNS = 4


# --- scripts ----------------------------------------------------------------------------------------

def _script_key(script) -> tuple:
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)`` twice
    (once as ``None``, once as ``''``): "SyntaxError: Identifier ... has already been declared" in
    the console. This drops the second copy of any script."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


# --- head and header buttons ------------------------------------------------------------------------

def one_viewport_meta(app, pagename, templatename, context, doctree) -> None:
    """Sphinx's basic layout, docutils (in ``metatags``) and pydata-sphinx-theme each write a viewport
    meta tag. This drops docutils' copy; book/_templates/layout.html drops the theme's."""
    if "metatags" in context:
        context["metatags"] = re.sub(r'<meta name="viewport"[^>]*>\n?', "", context["metatags"])


def no_print_button(app, pagename, templatename, context, doctree) -> None:
    """sphinx-book-theme's ".pdf" download only opens the print dialog: not a PDF, so not offered."""
    for button in context.get("header_buttons", []):
        if button.get("type") == "group":
            button["buttons"] = [b for b in button["buttons"] if b.get("label") != "download-pdf-button"]


# --- Thebe ------------------------------------------------------------------------------------------

def _thebe_wanted(app) -> bool:
    return bool(app.config.html_theme_options.get("launch_buttons", {}).get("thebe"))


def drop_thebe_config(app, doctree, docname) -> None:
    """Jupyter Book always loads sphinx-thebe, which writes on every page a Thebe configuration for
    its example repository (binder-examples/jupyter-stacks-datascience) when the book does not use
    Thebe (no ``launch_buttons.thebe``). This book launches Binder instead: no Thebe on the pages."""
    if _thebe_wanted(app):
        return
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if "text/x-thebe-config" in text or text.startswith("<script>kernelName ="):
            raw.parent.remove(raw)


def drop_thebe_assets(app, pagename, templatename, context, doctree) -> None:
    if _thebe_wanted(app):
        return
    scripts = context.get("script_files", [])
    scripts[:] = [s for s in scripts if "thebe" not in str(s.filename or "")
                  and "THEBE_JS_URL" not in s.attributes.get("body", "")]
    styles = context.get("css_files", [])
    styles[:] = [s for s in styles if "thebe" not in str(s.filename or "")]


# --- widgets ----------------------------------------------------------------------------------------

def shown_models(state: dict, roots: list[str]) -> list[str]:
    """The ids of the models the page's views need, in the order they are first reached.

    The models reachable from the views, and then every model (a ``jslink``) that refers only to
    models already kept: a link names its two ends, but nothing names the link.
    """
    def references(model_id):
        text = json.dumps(state[model_id]["state"])
        return [a or b for a, b in MODEL_REFERENCE.findall(text) if (a or b) in state]

    kept, order = set(), []

    def visit(model_id):
        stack = [model_id]
        while stack:
            current = stack.pop()
            if current in kept or current not in state:
                continue
            kept.add(current)
            order.append(current)
            stack.extend(reversed(references(current)))

    for root in roots:
        visit(root)
    changed = True
    while changed:
        changed = False
        for model_id in state:
            if model_id not in kept:
                refs = references(model_id)
                if refs and all(ref in kept for ref in refs):
                    visit(model_id)
                    changed = True
    return order


def _placeholder(description: str) -> str:
    """Shown in a widget area until the widget renderer has drawn the widget (site.css hides it then)."""
    text = "Interactive explorer: loading (it needs JavaScript)."
    detail = f'<span class="widget-placeholder__detail">First picture: {description}</span>' if description else ""
    return f'<div class="widget-placeholder"><span>{text}</span>{detail}</div>'


def light_widget_pages(app, pagename, templatename, context, doctree) -> None:
    """Widget pages that paint before the widget renderer runs, and carry only the widgets they show.

    myst-nb writes the notebook's whole widget state in ``<head>``: the browser paints nothing until it
    has read it (1-2 MB), and it holds the models of widgets whose cells are not shown (the live
    explorer, tagged ``remove-cell``: 110-160 KB). Here the state keeps only the models the page's
    views need and moves to the end of the body; each view gets a placeholder (the first picture's
    alt text) that stays until the renderer draws the widget. A page with no view left loads no
    widget state and no renderer. The renderer's scripts are deferred in _config.yml.
    """
    scripts = context.get("script_files")
    body = context.get("body")
    if not scripts or body is None:
        return
    state_script = next((s for s in scripts if s.attributes.get("type") == WIDGET_STATE), None)
    if state_script is None:
        return
    document = json.loads(state_script.attributes["body"])
    roots = [json.loads(view)["model_id"] for view in WIDGET_VIEW.findall(body)]
    kept = shown_models(document["state"], roots)
    scripts.remove(state_script)
    if not kept:
        renderer = set(app.config.nb_ipywidgets_js)
        scripts[:] = [s for s in scripts if s.filename not in renderer]
        return
    document["state"] = {model_id: document["state"][model_id] for model_id in kept}
    state_json = json.dumps(document).replace("</", "<\\/")

    def with_placeholder(match):
        root = json.loads(match.group(1))["model_id"]
        description = ""
        for model_id in shown_models(document["state"], [root]):
            alt = ALT_TEXT.search(json.dumps(document["state"][model_id]["state"]))
            if alt:
                description = html.escape(html.unescape(json.loads(f'"{alt.group(1)}"')))
                break
        return match.group(0) + _placeholder(description)

    context["body"] = (WIDGET_VIEW.sub(with_placeholder, body)
                       + f'\n<script type="{WIDGET_STATE}">{state_json}</script>\n')


# --- tables -----------------------------------------------------------------------------------------

def mark_wide_tables(app, doctree, docname) -> None:
    """Tables of four or more columns read as one block per row on a phone (site.css), each cell
    under its column's name: the names are written here as labels that site.css shows only there.

    A table keyed by formulas (a formula in every first cell, as in Appendix A) also gets
    ``formula-table columns-N``: wider than a phone, each formula then has a line of its own above
    the row's other cells, which MathJax (it does not break lines) would otherwise squeeze to a few
    characters each."""
    for table in doctree.findall(nodes.table):
        tgroup = next(iter(table.findall(nodes.tgroup)), None)
        if tgroup is None or tgroup.get("cols", 0) < STACKED_TABLE_COLUMNS:
            continue
        thead = next(iter(tgroup.findall(nodes.thead)), None)
        tbody = next(iter(tgroup.findall(nodes.tbody)), None)
        if thead is None or tbody is None:
            continue
        names = [entry.astext().strip() for entry in thead.findall(nodes.entry)]
        rows = list(tbody.findall(nodes.row))
        table["classes"].append("stacked-on-phone")
        if rows and all(any(next(iter(row.findall(nodes.entry))).findall(nodes.math)) for row in rows):
            table["classes"] += ["formula-table", f"columns-{tgroup['cols']}"]
        for row in rows:
            for name, entry in zip(names, row.findall(nodes.entry)):
                target = entry[0] if len(entry) and isinstance(entry[0], nodes.paragraph) else entry
                target.insert(0, nodes.inline("", name, classes=["cell-label"]))


def setup(app):
    # late, after every extension has changed the doctree or added its scripts for this page
    app.connect("doctree-resolved", drop_thebe_config, priority=900)
    app.connect("doctree-resolved", mark_wide_tables, priority=900)
    for handler in (drop_duplicate_scripts, one_viewport_meta, no_print_button, drop_thebe_assets,
                    light_widget_pages):
        app.connect("html-page-context", handler, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
