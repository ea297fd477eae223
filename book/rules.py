"""Every registered optimizer's rule as optlib writes it, for Appendix B: the directive ``optimizer-rules``.

The rule of an optimizer is its ``update`` method, plus the hooks it overrides (``gradient_point``: where
the gradient is taken, Nesterov's look-ahead; ``step_scalars``: the per-step numbers, Adam's bias
corrections). The directive prints, for each optimizer of ``optlib.OPTIMIZERS`` in the registry's order,
those methods' source (dedented), so a newly registered optimizer appears with no edit to the page::

    ```{optimizer-rules}
    ```
"""
from __future__ import annotations

import inspect
import textwrap

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

#: the methods that make up a rule, in the order the engine calls them in a step
RULE_METHODS = ("gradient_point", "step_scalars", "update")


def rule_sources() -> list[tuple[str, str]]:
    """(name, source) for every registered optimizer: the rule's methods the class itself defines."""
    import optlib

    rules = []
    for name, cls in optlib.OPTIMIZERS.items():
        methods = [cls.__dict__[method] for method in RULE_METHODS if method in cls.__dict__]
        source = "\n".join(textwrap.dedent(inspect.getsource(method)) for method in methods)
        rules.append((name, source.rstrip("\n")))
    return rules


class OptimizerRules(SphinxDirective):
    def run(self):
        found = []
        for name, source in rule_sources():
            title = nodes.paragraph()
            title += nodes.strong(text=name)
            block = nodes.literal_block(source, source, language="python")
            self.set_source_info(block)
            found += [title, block]
        return found


def setup(app):
    app.add_directive("optimizer-rules", OptimizerRules)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
