"""Printable handouts for live workshops, built from the exercises' own text.

Nothing here is kept by hand: each exercise's instructions come from its workshop adapter
in ``widgets.workshop.exercises`` (title, summary, what a round is, the settings with
their defaults, the treatments, and what a phone shows in the first round), so a handout
never disagrees with the game it describes.

- ``instructions(name)``: one exercise's participant instructions, as plain data;
- ``instructions_pdf(name)`` and ``instructions_html(name)``: the same, printable;
- ``join_cards_pdf(join_url, code, title, cards)``: an A4 sheet (or several) of cut-out
  cards, each with the QR code of the join link, the address to type and the code in
  large letters; ``join_cards_html`` gives the same cards for printing from a browser.

The PDFs are drawn with fpdf2's built-in Helvetica and Courier, so nothing needs to be
installed and no browser is involved; text outside Latin-1 is replaced by its closest
Latin-1 form. QR codes are drawn as vector squares from ``segno``'s matrix, so they print
sharp at any size.

No ipywidgets here: the book build, the facilitator's kernel and tests all import it.
"""
from __future__ import annotations

import html
import math
import numbers
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import segno
from fpdf import FPDF

from widgets.workshop import exercises as workshop_exercises

MAX_CARDS = 200
MAX_CODE_LENGTH = 12
QR_ERROR = "m"          # the same error correction as the QR code on the projector
SAMPLE_URL = "http://<laptop address>:8866/"
SAMPLE_CODE = "SAMPLE"
SAMPLE_NOTE = "Sample card: the address and QR code are placeholders."

JOIN_STEPS = (
    "Connect your phone to the Wi-Fi network the facilitator names. It may have no internet: "
    "that is expected, the workshop runs on the facilitator's laptop.",
    "Scan the QR code on the screen or on your card with the phone's camera, or type the address "
    "into the phone's browser.",
    "Check the code (it is on the screen and on your card), type a name the others will see, "
    "and tap Join.",
    "Keep the page open. If it freezes or you close it by mistake, reload the same page: you come "
    "back to your seat. Do not join a second time under another name.",
)
GOOD_TO_KNOW = (
    "Wait for the facilitator to open a round; your phone shows when it is your turn.",
    "Empty seats in a group are played by simulated members, so a group can start before "
    "everyone has arrived.",
    "The people in your group, and the facilitator's results, show the name you type: a first "
    "name or a nickname is enough.",
    "There are no right answers. Decide as you would if the money were real.",
)


# --- the instructions as data -------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One part of a handout: paragraphs, then numbered steps, bullets or a table."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    table: tuple[tuple[str, str], ...] = ()   # (what, default); printed with a column for today's value


@dataclass(frozen=True)
class Handout:
    name: str
    title: str
    lead: str
    sections: tuple[Section, ...]

    @property
    def slug(self) -> str:
        return slug(self.name)


def slug(name: str) -> str:
    """A file name for an exercise: ``public goods`` gives ``public-goods``."""
    return "-".join(name.lower().split())


def exercise_names() -> list[str]:
    return list(workshop_exercises.EXERCISES)


def format_value(value: float) -> str:
    """A setting's value as the handout prints it: 50000 as 50,000, 0.4 as 0.4."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def _control_text(control: workshop_exercises.Control) -> str:
    if control.kind == workshop_exercises.CHOICE:
        return f"{control.label}: " + " or ".join(label for _, label in control.options) + "."
    if control.kind == workshop_exercises.POINTS:
        return f"{control.label}: a whole number from 0 to {control.high:g} for each other member."
    return f"{control.label}: a number from {control.low:g} to {control.high:g}."


def _first_round_examples(game: workshop_exercises.Exercise, params: dict) -> tuple[str, ...]:
    """What seats of group 1 see in round 1 under the first treatment: seat 1, and any other
    seat whose screen differs in kind (it waits while seat 1 decides, or decides otherwise)."""
    treatment = game.treatments[0]
    state = game.begin(params, treatment, game.new_group(params, treatment, 1))
    shown, kinds = [], set()
    for seat in range(1, game.group_size(params) + 1):
        turn = game.turn(params, treatment, state, seat, {})
        kind = (turn.decides, turn.control.kind if turn.control else None)
        if kind in kinds:
            continue
        kinds.add(kind)
        text = f"{turn.heading}. {turn.situation}"
        if turn.control is not None:
            text += " On the phone: " + _control_text(turn.control)
        shown.append(f"Seat {seat}: {text}")
    return tuple(shown)


def instructions(name: str) -> Handout:
    """Participant instructions for one workshop exercise, from its adapter's own text."""
    game = workshop_exercises.exercise(name)   # an unknown name raises ValueError
    defaults = game.default_params()
    params = game.check_params({**defaults, "seed": 0})
    size = game.group_size(params)
    how = Section(
        "How the game runs",
        paragraphs=(
            game.summary,
            game.round_hint,
            f"You play in a group of {size}; the facilitator forms the groups once everyone has joined. "
            f"A session usually has {game.default_rounds} rounds.",
        ),
    )
    example = Section(
        "What your phone shows in the first round",
        paragraphs=("An example with the usual settings; your own numbers may differ.",),
        items=_first_round_examples(game, params),
    )
    settings = Section(
        "What the facilitator may change",
        paragraphs=(
            "The usual values are printed; the facilitator may set others for your session "
            "and announce them.",
            f"The facilitator may also switch between: {', '.join(game.treatments)}. "
            f"The session starts with {game.treatments[0]}, unless the facilitator says otherwise.",
        ),
        table=tuple((s.label, format_value(defaults[s.name])) for s in game.settings)
        + (("Rounds in the session", format_value(game.default_rounds)),),
    )
    return Handout(
        name=game.name,
        title=game.title,
        lead=game.summary,
        sections=(
            Section("How to join", steps=JOIN_STEPS),
            how,
            example,
            settings,
            Section("Good to know", items=GOOD_TO_KNOW),
        ),
    )


# --- checks for the join cards ------------------------------------------------------------


def _check_join(join_url: object, code: object, title: object, cards: object) -> tuple[str, str, str]:
    """The join address, the cleaned code and the title, each checked; plain messages."""
    if not isinstance(join_url, str) or not join_url.strip():
        raise ValueError("The join address is empty: give the address participants open, "
                         "such as http://192.168.1.20:8866/.")
    url = join_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"The join address must start with http:// or https://; got {url!r}.")
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise ValueError(f"The join address must name the laptop, as in http://192.168.1.20:8866/; got {url!r}.")
    if not isinstance(code, str):
        raise ValueError(f"The join code must be text, such as ABC234; got {code!r}.")
    cleaned = "".join(code.split()).replace("-", "").upper()
    if not cleaned:
        raise ValueError("The join code is empty: give the code shown on the facilitator's screen.")
    if not (cleaned.isascii() and cleaned.isalnum()) or len(cleaned) > MAX_CODE_LENGTH:
        raise ValueError(f"The join code must be letters and digits only, at most {MAX_CODE_LENGTH} of them; "
                         f"got {code!r}.")
    if not isinstance(title, str):
        raise ValueError(f"The title must be text; got {title!r}.")
    if isinstance(cards, bool) or not isinstance(cards, numbers.Integral) or not 1 <= cards <= MAX_CARDS:
        raise ValueError(f"The number of cards must be a whole number from 1 to {MAX_CARDS}; got {cards!r}.")
    return url, cleaned, " ".join(title.split())


def join_link(join_url: str, code: str) -> str:
    """The link a card's QR code opens: the join address with the code filled in, as the
    projector's QR code has it (``http://host:8866/?code=ABC234``)."""
    parts = urlsplit(join_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "code"]
    query.append(("code", code))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def address_to_type(join_url: str) -> str:
    """The address printed on a card for typing: no query, nothing after the path."""
    parts = urlsplit(join_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def qr_matrix(link: str) -> list[list[bool]]:
    """The QR code of ``link`` as rows of dark (True) and light modules, without the quiet zone."""
    return [[bool(module) for module in row] for row in segno.make(link, error=QR_ERROR).matrix]


def dark_runs(matrix: Sequence[Sequence[bool]]) -> Iterable[tuple[int, int, int]]:
    """Each horizontal run of dark modules as (row, first column, length)."""
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                yield r, start, c - start
            else:
                c += 1


# --- PDF ----------------------------------------------------------------------------------

_LATIN1 = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "-"})


def latin1(text: str) -> str:
    """Text the PDF's built-in fonts can draw: typographic marks made plain, accents kept
    where Latin-1 has them, anything else reduced to its base letter or a question mark."""
    text = text.translate(_LATIN1)
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


def _pdf(title: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(latin1(title))
    pdf.set_creator("Forming and running producer associations")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    return pdf


def _fit_size(pdf: FPDF, text: str, width: float, family: str, style: str, largest: float, smallest: float) -> float:
    size = largest
    while size > smallest:
        pdf.set_font(family, style, size)
        if pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
            return size
        size -= 0.5
    return smallest


def instructions_pdf(exercise_name: str) -> bytes:
    """One exercise's participant instructions as an A4 PDF."""
    handout = instructions(exercise_name)
    pdf = _pdf(handout.title)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(width, 9, latin1(handout.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(80, 80, 80)
    pdf.multi_cell(width, 5.5, latin1("Workshop exercise: instructions for participants"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    for section in handout.sections:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(width, 7, latin1(section.heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10.5)
        for paragraph in section.paragraphs:
            pdf.multi_cell(width, 5, latin1(paragraph), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for marks, lines in ((True, section.steps), (False, section.items)):
            for number, line in enumerate(lines, start=1):
                mark = f"{number}." if marks else "-"
                pdf.cell(7, 5, mark)
                pdf.multi_cell(width - 7, 5, latin1(line), align="L", new_x="LMARGIN", new_y="NEXT")
                pdf.ln(0.8)
        if section.table:
            pdf.ln(1)
            pdf.set_font("Helvetica", "", 10)
            with pdf.table(col_widths=(width - 56, 28, 28), text_align=("LEFT", "RIGHT", "LEFT"),
                           line_height=5.5, first_row_as_headings=True) as table:
                table.row(("Setting", "Usual value", "Today"))
                for label, value in section.table:
                    table.row((latin1(label), value, ""))
    return bytes(pdf.output())


CARD_COLUMNS, CARD_ROWS = 2, 4
CARD_W, CARD_H = 210 / CARD_COLUMNS, 297 / CARD_ROWS
QR_SIZE = 42.0
PAD = 6.0


def _draw_qr(pdf: FPDF, matrix: Sequence[Sequence[bool]], x: float, y: float, size: float) -> None:
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, column, length in dark_runs(matrix):
        pdf.rect(x + column * module, y + row * module, length * module, module, style="F")


def _draw_card(pdf: FPDF, x: float, y: float, link: str, address: str, code: str, title: str,
               matrix: Sequence[Sequence[bool]], note: str | None) -> None:
    left, top = x + PAD, y + PAD
    pdf.set_text_color(0, 0, 0)
    if title:
        size = _fit_size(pdf, title, CARD_W - 2 * PAD, "Helvetica", "B", 11, 7)
        pdf.set_font("Helvetica", "B", size)
        while pdf.get_string_width(title) > CARD_W - 2 * PAD - 2 * pdf.c_margin and len(title) > 4:
            title = title[:-4].rstrip() + "..."
        pdf.set_xy(left, top)
        pdf.cell(CARD_W - 2 * PAD, 5, title)
    qr_top = top + 8
    _draw_qr(pdf, matrix, left, qr_top, QR_SIZE)
    column_x = left + QR_SIZE + 5
    column_w = x + CARD_W - PAD - column_x
    pdf.set_xy(column_x, qr_top - 1)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(column_w, 6, "Join the workshop", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8.5)
    pdf.multi_cell(column_w, 4, "1. Join the laptop's Wi-Fi.\n2. Scan the QR code, or open:",
                   new_x="LEFT", new_y="NEXT")
    size = _fit_size(pdf, address, column_w, "Courier", "B", 9.5, 5.5)
    pdf.set_font("Courier", "B", size)
    pdf.multi_cell(column_w, 4.5, address, new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8.5)
    pdf.cell(column_w, 5, "3. Type the code:", new_x="LEFT", new_y="NEXT")
    size = _fit_size(pdf, code, column_w, "Helvetica", "B", 30, 12)
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(column_w, 12, code, new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(left, qr_top + QR_SIZE + 4)
    pdf.cell(CARD_W - 2 * PAD, 5, "Wi-Fi network: ______________________________")
    if note:
        pdf.set_text_color(176, 0, 32)
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_xy(left, y + CARD_H - PAD - 4)
        pdf.cell(CARD_W - 2 * PAD, 4, note)
        pdf.set_text_color(0, 0, 0)


def _cards_pdf(link: str, address: str, code: str, title: str, cards: int, note: str | None) -> bytes:
    pdf = _pdf(f"Join cards: {title}" if title else "Join cards")
    pdf.set_auto_page_break(False)
    matrix = qr_matrix(link)
    per_page = CARD_COLUMNS * CARD_ROWS
    title, address, note = latin1(title), latin1(address), latin1(note) if note else None
    for first in range(0, cards, per_page):
        pdf.add_page()
        on_page = min(per_page, cards - first)
        for index in range(on_page):
            row, column = divmod(index, CARD_COLUMNS)
            _draw_card(pdf, column * CARD_W, row * CARD_H, link, address, code, title, matrix, note)
        # Dashed cutting lines between the cards.
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=2, gap=2)
        rows_used = math.ceil(on_page / CARD_COLUMNS)
        pdf.line(CARD_W, 0, CARD_W, rows_used * CARD_H)
        for row in range(1, rows_used + (1 if rows_used < CARD_ROWS else 0)):
            pdf.line(0, row * CARD_H, 210, row * CARD_H)
        pdf.set_dash_pattern()
    return bytes(pdf.output())


def join_cards_pdf(join_url: str, code: str, title: str, cards: int = 8) -> bytes:
    """An A4 PDF of ``cards`` cut-out join cards, eight to a page.

    Each card carries the QR code of the join link (``join_url`` with ``?code=`` filled
    in, so scanning it fills in the code), the address to type, and the code in large
    letters. ``ValueError`` with a plain message for an address that is not http(s), an
    empty or malformed code, or a number of cards outside 1 to 200.
    """
    url, cleaned, title = _check_join(join_url, code, title, cards)
    return _cards_pdf(join_link(url, cleaned), address_to_type(url), cleaned, title, int(cards), None)


def sample_join_cards_pdf() -> bytes:
    """A sheet of cards for the server's usual address, with a placeholder code and a note
    on every card that it is a sample."""
    return _cards_pdf(join_link(SAMPLE_URL, SAMPLE_CODE), SAMPLE_URL, SAMPLE_CODE, "Workshop", 8, SAMPLE_NOTE)


# --- HTML ---------------------------------------------------------------------------------

PRINT_CSS = """
.handout { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45;
  max-width: 44rem; }
.handout h2 { font-size: 1.6rem; margin: 0 0 0.2rem; }
.handout h3 { font-size: 1.15rem; margin: 1rem 0 0.3rem; }
.handout .handout-kind { color: #555; margin: 0 0 0.6rem; }
.handout table { border-collapse: collapse; margin: 0.4rem 0; }
.handout th, .handout td { border: 1px solid #888; padding: 0.25rem 0.5rem; vertical-align: top; }
.handout td.value { text-align: right; white-space: nowrap; }
.handout td.today { min-width: 6rem; }
.join-cards { display: grid; grid-template-columns: repeat(2, 105mm); grid-auto-rows: 74.25mm; }
.join-card { box-sizing: border-box; border: 1px dashed #999; padding: 6mm; overflow: hidden;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.join-card .card-title { font-weight: bold; font-size: 11pt; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.join-card .card-body { display: flex; gap: 5mm; margin-top: 2mm; }
.join-card svg { width: 36mm; height: 36mm; flex: none; }
.join-card .card-text { font-size: 8.5pt; line-height: 1.35; min-width: 0; }
.join-card .card-head { font-weight: bold; font-size: 11pt; white-space: nowrap; }
.join-card .card-url { font-family: "Courier New", monospace; font-weight: bold; font-size: 9pt;
  overflow-wrap: anywhere; }
.join-card .card-code { font-weight: bold; font-size: 22pt; letter-spacing: 0.04em; line-height: 1.1; }
.join-card .card-wifi { font-size: 9pt; margin-top: 3mm; }
.join-card .card-note { color: #B00020; font-weight: bold; font-size: 8pt; margin-top: 1mm; }
@media print {
  @page { size: A4; margin: 0; }
  .handout { page-break-after: always; break-after: page; margin: 14mm 18mm; max-width: none;
    font-size: 10pt; line-height: 1.35; }
  .handout h2 { font-size: 18pt; }
  .handout h3 { font-size: 12.5pt; margin: 3mm 0 1mm; }
  .handout p, .handout li { margin: 0 0 1mm; }
  .handout ol, .handout ul { margin: 0 0 1mm; }
  .join-cards { page-break-after: always; break-after: page; }
  .join-card { break-inside: avoid; }
}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def handout_html(handout: Handout) -> str:
    """A handout as an HTML fragment (a ``<div class="handout">``)."""
    parts = [f'<div class="handout" id="handout-{_e(handout.slug)}">', f"<h2>{_e(handout.title)}</h2>",
             '<p class="handout-kind">Workshop exercise: instructions for participants</p>']
    for section in handout.sections:
        parts.append(f"<h3>{_e(section.heading)}</h3>")
        parts += [f"<p>{_e(p)}</p>" for p in section.paragraphs]
        if section.steps:
            parts.append("<ol>" + "".join(f"<li>{_e(s)}</li>" for s in section.steps) + "</ol>")
        if section.items:
            parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in section.items) + "</ul>")
        if section.table:
            rows = "".join(f'<tr><td class="setting">{_e(label)}</td><td class="value">{_e(value)}</td>'
                           f'<td class="today"></td></tr>' for label, value in section.table)
            parts.append("<table><thead><tr><th>Setting</th><th>Usual value</th><th>Today</th></tr></thead>"
                         f"<tbody>{rows}</tbody></table>")
    parts.append("</div>")
    return "\n".join(parts)


def instructions_html(exercise_name: str) -> str:
    """One exercise's participant instructions as an HTML fragment."""
    return handout_html(instructions(exercise_name))


def qr_svg(link: str) -> str:
    """The QR code of ``link`` as inline SVG, with a quiet zone of four modules."""
    matrix = qr_matrix(link)
    size = len(matrix) + 8
    rects = "".join(f'<rect x="{c + 4}" y="{r + 4}" width="{n}" height="1"/>' for r, c, n in dark_runs(matrix))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges" '
            f'role="img" aria-label="QR code of {_e(link)}"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<g fill="#000">{rects}</g></svg>')


def _cards_html(link: str, address: str, code: str, title: str, cards: int, note: str | None) -> str:
    svg = qr_svg(link)
    card = (f'<div class="join-card">'
            + (f'<div class="card-title">{_e(title)}</div>' if title else "")
            + f'<div class="card-body">{svg}<div class="card-text"><div class="card-head">Join the workshop</div>'
            f'<div>1. Join the laptop\'s Wi-Fi.</div><div>2. Scan the QR code, or open:</div>'
            f'<div class="card-url">{_e(address)}</div><div>3. Type the code:</div>'
            f'<div class="card-code">{_e(code)}</div></div></div>'
            '<div class="card-wifi">Wi-Fi network: ______________________________</div>'
            + (f'<div class="card-note">{_e(note)}</div>' if note else "")
            + "</div>")
    per_page = CARD_COLUMNS * CARD_ROWS
    pages = []
    for first in range(0, cards, per_page):
        pages.append('<div class="join-cards">' + card * min(per_page, cards - first) + "</div>")
    return "\n".join(pages)


def join_cards_html(join_url: str, code: str, title: str, cards: int = 8) -> str:
    """The join cards of ``join_cards_pdf`` as an HTML fragment, for printing from a browser
    (the same checks, the same link in the QR code)."""
    url, cleaned, title = _check_join(join_url, code, title, cards)
    return _cards_html(join_link(url, cleaned), address_to_type(url), cleaned, title, int(cards), None)


def sample_join_cards_html() -> str:
    return _cards_html(join_link(SAMPLE_URL, SAMPLE_CODE), SAMPLE_URL, SAMPLE_CODE, "Workshop", 8, SAMPLE_NOTE)


def standalone_html(body: str, title: str) -> str:
    """A complete page around a fragment, with the print styles and nothing loaded from outside."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{PRINT_CSS}\nbody {{ margin: 1rem; }} @media print {{ body {{ margin: 0; }} }}</style>"
            f"</head><body>\n{body}\n</body></html>\n")
