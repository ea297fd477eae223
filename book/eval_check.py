"""Numbers in the prose: myst-nb's ``{eval}`` role, checked against what JupyterLab will show.

With ``execute_notebooks: inline`` myst-nb runs each notebook while it builds the page, and an
``{eval}`expression``` in a markdown cell is evaluated in that kernel at that point of the run: the
page shows what the code computed, at build time. JupyterLab (jupyterlab-myst) shows the same role
from the values stored in the cell's metadata ``user_expressions`` by ``make outputs``
(``book/outputs.py``), until the reader runs the notebook. This extension replaces myst-nb's role by
one that renders the same, and warns (so ``jupyter-book build -W`` fails) when

- the value is not a string: a float would show all its digits (``0.39925384810888576``) and a numpy
  scalar its type (``np.float64(0.3993)``); the expression says the precision,
  ``{eval}`f"{loss:.4f}"```, and both renderers show a string without its quotes;
- the notebook has no stored value for the expression, or a stored value that differs from this
  build's: the notebook was edited or optlib changed since ``make outputs`` last ran.
"""
from __future__ import annotations

from myst_nb.core.variables import RetrievalError, create_warning, render_variable_outputs
from myst_nb.ext.eval import EvalRoleAny, retrieve_eval_data

USER_EXPRESSIONS = "user_expressions"  # (book/outputs.py writes it; jupyterlab-myst reads it)
CELL_LINES = 10000  # myst-nb numbers the lines of a notebook's cell i from (i + 1) * 10000


def _warning(role, message: str):
    return create_warning(message, role.document, role.line, subtype="eval")


def _stored_results(notebook, line: int, expression: str) -> list[dict]:
    """The stored results for ``expression``: in the cell at ``line``, else in any markdown cell."""
    def results(cell) -> list[dict]:
        return [entry.get("result", {}) for entry in cell.get("metadata", {}).get(USER_EXPRESSIONS, [])
                if entry.get("expression") == expression]

    index = line // CELL_LINES - 1
    if 0 <= index < len(notebook.cells) and results(notebook.cells[index]):
        return results(notebook.cells[index])
    return [result for cell in notebook.cells if cell.cell_type == "markdown" for result in results(cell)]


def _is_string(text: str) -> bool:
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and "\n" not in text


class CheckedEvalRole(EvalRoleAny):
    """myst-nb's ``{eval}`` role (same output), plus the checks of the module docstring."""

    def run(self):
        try:
            outputs = retrieve_eval_data(self.document, self.text)
        except RetrievalError as error:
            return [], [_warning(self, str(error))]
        fresh = outputs[0].data.get("text/plain", "")
        messages = []
        if len(outputs) != 1 or not _is_string(fresh):
            messages.append(_warning(
                self, f"{{eval}}`{self.text}` gives {fresh!r}, not a string: format it at the precision "
                      f"the sentence uses, e.g. {{eval}}`f\"{{value:.3f}}\"`"))
        notebook = self.document["nb_renderer"].renderer.nb_client.notebook
        stored = [result.get("data", {}).get("text/plain") for result in
                  _stored_results(notebook, self.line, self.text)]
        if not stored:
            messages.append(_warning(
                self, f"{{eval}}`{self.text}`: no value stored in the notebook for JupyterLab: "
                      "run `make outputs`"))
        elif fresh not in stored:
            messages.append(_warning(
                self, f"{{eval}}`{self.text}`: this build computes {fresh}, the notebook stores "
                      f"{stored[0]} (what JupyterLab shows before a run): run `make outputs`"))
        for output in outputs:  # as myst-nb's role: a string is shown without its quotes
            output.metadata["strip_text_quotes"] = True
        return render_variable_outputs(outputs, self.document, self.line, self.source,
                                       inline=True), messages


def setup(app):
    # myst-nb registers its own role in its setup; this extension is loaded after it
    app.add_role("eval", CheckedEvalRole(), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
