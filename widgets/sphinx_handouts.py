"""Printable workshop handouts, written into the HTML build by the book build itself.

Every HTML build writes, into ``handouts/`` of the output folder, for each workshop
exercise its participant instructions as PDF and as a stand-alone HTML page, and a sheet
of sample join cards (placeholder address and code). Nothing is kept as a copy in the
repository: the files come from ``widgets.handouts``, which reads the exercises' own text.

Two directives put them on a page:

    ```{handout-downloads}
    ```

lists every file with a link, and

    ```{handout} public goods
    ```

shows one exercise's instructions (or ``join cards`` for the sample cards) in the page,
with print styles. An unknown exercise name stops the build with the list of known ones.
Pages that use these directives are read again on every build, so what they show never
lags behind the exercises.
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from widgets import handouts

FOLDER = "handouts"
JOIN_CARDS = "join cards"


def files() -> list[tuple[str, str, str]]:
    """(file name, what it is, kind) for every file the build writes."""
    found = []
    for name in handouts.exercise_names():
        title = handouts.instructions(name).title
        found.append((f"instructions-{handouts.slug(name)}.pdf", f"{title}: instructions", "PDF"))
        found.append((f"instructions-{handouts.slug(name)}.html", f"{title}: instructions", "HTML"))
    found.append(("join-cards-sample.pdf", "Join cards, sample sheet", "PDF"))
    found.append(("join-cards-sample.html", "Join cards, sample sheet", "HTML"))
    return found


def write_files(folder: Path) -> list[Path]:
    """Write every handout into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in handouts.exercise_names():
        handout = handouts.instructions(name)
        base = f"instructions-{handout.slug}"
        (folder / f"{base}.pdf").write_bytes(handouts.instructions_pdf(name))
        (folder / f"{base}.html").write_text(
            handouts.standalone_html(handouts.handout_html(handout), handout.title), encoding="utf-8")
        written += [folder / f"{base}.pdf", folder / f"{base}.html"]
    (folder / "join-cards-sample.pdf").write_bytes(handouts.sample_join_cards_pdf())
    (folder / "join-cards-sample.html").write_text(
        handouts.standalone_html(handouts.sample_join_cards_html(), "Join cards (sample)"), encoding="utf-8")
    written += [folder / "join-cards-sample.pdf", folder / "join-cards-sample.html"]
    return written


def _note_use(env) -> None:
    """Remember that the page being read shows handouts (it is read again on every build)."""
    if not hasattr(env, "handout_docs"):
        env.handout_docs = set()
    env.handout_docs.add(env.docname)


def _style_once(document) -> str:
    """The handout styles, the first time a page asks for them."""
    if getattr(document, "_handout_style", False):
        return ""
    document._handout_style = True
    return STYLE


def _root(docname: str) -> str:
    """The relative path from a page to the output folder's root."""
    return "../" * docname.count("/")


# Printing a page that shows handouts prints the handouts alone, one to a sheet: the
# theme's bars and the page's own prose are hidden on paper.
STYLE = f"<style>{handouts.PRINT_CSS}\n" + """
@media print {
  .bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer,
  .prev-next-area, .footer-article-items, .bd-footer-article, header, footer { display: none !important; }
  article section > *:not(.handouts-printable):not(section) { display: none !important; }
  .onlyprint, #print-main-content > .onlyprint { display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: none; padding: 0; }
  .handouts-printable .join-cards { grid-template-columns: 1fr 1fr; grid-auto-rows: 66mm; width: 100%; }
}
.handouts-printable { border: 1px solid #ddd; padding: 1rem; margin: 1rem 0; overflow-x: auto; }
@media print { .handouts-printable { border: 0; padding: 0; margin: 0; } }
</style>
"""


class HandoutDownloads(Directive):
    """A table of every handout file, with links."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        _note_use(env)
        root = _root(env.docname)
        rows = "".join(
            f'<tr><td>{handouts._e(what)}</td><td><a href="{root}{FOLDER}/{name}" download>{kind}</a></td></tr>'
            for name, what, kind in files())
        table = (f'<table class="table handout-downloads"><thead><tr><th>handout</th><th>file</th></tr></thead>'
                 f"<tbody>{rows}</tbody></table>")
        return [nodes.raw("", _style_once(self.state.document) + table, format="html")]


class Handout(Directive):
    """One exercise's instructions (or the sample join cards) shown in the page."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self):
        _note_use(self.state.document.settings.env)
        name = " ".join(self.arguments[0].split())
        if name == JOIN_CARDS:
            body = handouts.sample_join_cards_html()
        else:
            try:
                body = handouts.instructions_html(name)
            except ValueError as error:
                return [self.state.document.reporter.error(
                    f"handout {name!r}: {error} (or {JOIN_CARDS!r})", line=self.lineno)]
        shown = f'<div class="handouts-printable">{body}</div>'
        return [nodes.raw("", _style_once(self.state.document) + shown, format="html")]


def _write_after_build(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        write_files(Path(app.outdir) / FOLDER)


def _always_read_again(app, env, added, changed, removed):
    return sorted(getattr(env, "handout_docs", set()) - set(removed) - set(changed) - set(added))


def _purge(app, env, docname):
    getattr(env, "handout_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.handout_docs = getattr(env, "handout_docs", set()) | (getattr(other, "handout_docs", set()) & set(docnames))


def setup(app):
    app.add_directive("handout-downloads", HandoutDownloads)
    app.add_directive("handout", Handout)
    app.connect("env-get-outdated", _always_read_again)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _write_after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
