"""A Sphinx role that writes a case figure into prose straight from ``cases/``.

    The processor paid {fact}`modhupur.processor_price`.

renders "5.3 taka per pineapple" with the figure's source on hover;
``{fact}`modhupur.commission:value``` renders the bare number. An unknown figure is a
build error, so a typo never reaches readers.
"""
from __future__ import annotations

from docutils import nodes

from widgets.cases import CaseFileError, _format_number, lookup, sources


def fact_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    reference, _, form = text.strip().partition(":")
    try:
        figure = lookup(reference)
    except (KeyError, CaseFileError) as exc:
        message = inliner.reporter.error(f"{{fact}} {text!r}: {exc.args[0]}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    if form not in ("", "value"):
        message = inliner.reporter.error(f"{{fact}} {text!r}: the only option is ':value'", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    shown = _format_number(figure.value) if form == "value" and figure.unit != "year" else figure.formatted()
    source = sources()[figure.source]
    explanation = f"{figure.label}. Source: {source.title}, {figure.section}."
    return [nodes.abbreviation(shown, shown, explanation=explanation, classes=["case-fact"])], []


def setup(app):
    app.add_role("fact", fact_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
