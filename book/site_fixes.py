"""Fixes for what the browser test (tests/site) found wrong on Jupyter Book 1 pages.

Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)`` twice (once as
``None``, once as ``''``), so sphinx-thebe's ``const THEBE_JS_URL = ...`` is declared twice on every
page: "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared" in the console. This drops
the second copy of any script before the page is written.
"""
from __future__ import annotations


def _script_key(script) -> tuple:
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
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


def setup(app):
    # late, after every extension has added its scripts for this page
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
