"""The repository's address, from its one setting in _config.yml (``repository.url``), where a page needs it.

Jupyter Book passes ``repository.url`` to the theme (``html_theme_options["repository_url"]``), which
draws the repository and Binder buttons from it. This extension gives the pages the same value: the
directive ``clone-command`` writes a shell block whose first lines clone the repository and enter it,
followed by the directive's own lines::

    ```{clone-command}
    make lab     # creates .venv and opens JupyterLab on chapters/
    ```
"""
from __future__ import annotations

from urllib.parse import urlsplit

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def repository_url(config) -> str:
    url = (config.html_theme_options or {}).get("repository_url", "")
    if not url:
        raise ValueError("_config.yml has no repository.url (the clone command and the buttons need it)")
    return url.rstrip("/")


class CloneCommand(SphinxDirective):
    has_content = True

    def run(self):
        url = repository_url(self.config)
        folder = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
        text = "\n".join([f"git clone {url}", f"cd {folder}", *self.content])
        block = nodes.literal_block(text, text, language="bash")
        self.set_source_info(block)
        return [block]


def setup(app):
    app.add_directive("clone-command", CloneCommand)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
