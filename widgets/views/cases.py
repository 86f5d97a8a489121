"""Browse the case files: pick a case, see its figures with their sources."""
from __future__ import annotations

import html

import ipywidgets as w

from widgets.cases import load_cases, sources


def figures_table_html(case_id: str) -> str:
    case = load_cases()[case_id]
    known = sources()
    rows = "".join(
        "<tr><td>{label}</td><td style='text-align:right;white-space:nowrap'>{value}</td><td>{source}, {section}</td></tr>".format(
            label=html.escape(fig.label),
            value=html.escape(fig.formatted()),
            source=html.escape(known[fig.source].title),
            section=html.escape(fig.section),
        )
        for fig in case.figures.values()
    )
    if not rows:
        rows = "<tr><td colspan='3'>The sources give no figures for this case, only the facts below.</td></tr>"
    facts = "".join(
        f"<li><b>{html.escape(key.replace('_', ' ').capitalize())}:</b> {html.escape(fact.text)}</li>"
        for key, fact in case.facts.items()
    )
    return (
        f"<h4>{html.escape(case.name)} ({html.escape(case.country)})</h4>"
        f"<p>{html.escape(case.summary)}</p>"
        "<table class='case-figures'><thead><tr><th>Figure</th><th>Value</th><th>Source</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><ul>{facts}</ul>"
    )


def case_browser(initial: str | None = None) -> w.VBox:
    """A dropdown of cases and the chosen case's figures and facts."""
    cases = load_cases()
    options = [(case.name, case_id) for case_id, case in cases.items()]
    picker = w.Dropdown(options=options, value=initial or options[0][1], description="Case")
    picker.add_class("case-picker")
    table = w.HTML(figures_table_html(picker.value))
    table.add_class("case-table")
    picker.observe(lambda change: setattr(table, "value", figures_table_html(change["new"])), names="value")
    box = w.VBox([picker, table])
    box.picker, box.table = picker, table
    return box
