"""Printable handouts: instructions from the exercises' own text, join cards whose QR code
is the join link, plain refusals of bad input, and the files in the built book."""
from __future__ import annotations

import html.parser
import math
import re
import zlib
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from widgets import handouts
from widgets.workshop.exercises import EXERCISES

JOIN_URL = "http://192.168.1.20:8866/"
PT = 72 / 25.4  # points per millimetre


# --- reading PDFs without a PDF library ---------------------------------------------------


def pdf_streams(data: bytes) -> list[bytes]:
    """Every stream of a PDF, inflated when it is compressed."""
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, flags=re.DOTALL):
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            streams.append(raw)
    return streams


def page_contents(data: bytes) -> list[bytes]:
    """The content streams (the ones that draw: they begin text blocks or paths)."""
    return [s for s in pdf_streams(data) if b" re" in s or b"BT" in s]


def pdf_text(data: bytes) -> str:
    """The text shown by the PDF's Tj operators, as Latin-1 (the built-in fonts' encoding)."""
    shown = []
    for stream in page_contents(data):
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", stream):
            shown.append(re.sub(rb"\\(.)", rb"\1", literal).decode("latin-1"))
    return "\n".join(shown)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def qr_from_rectangles(stream: bytes) -> list[list[bool]]:
    """Rebuild a QR matrix from the filled rectangles a card draws (one card per page)."""
    rects = [tuple(map(float, m)) for m in re.findall(
        rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\s+f", stream)]
    assert rects, "no QR modules drawn"
    # fpdf2 draws from the top of the page with a negative height: normalise to top-left corners.
    boxes = [(x, y + min(h, 0), w, abs(h)) for x, y, w, h in rects]
    module = min(h for *_, h in boxes)
    left = min(x for x, *_ in boxes)
    top = max(y + h for _, y, _, h in boxes)
    size = round((top - min(y for _, y, _, _ in boxes)) / module)
    matrix = [[False] * size for _ in range(size)]
    for x, y, w, h in boxes:
        row = round((top - (y + h)) / module)
        first = round((x - left) / module)
        for column in range(first, first + round(w / module)):
            matrix[row][column] = True
    return matrix


# --- instructions -------------------------------------------------------------------------


class TableRows(html.parser.HTMLParser):
    """The settings table of an instructions page: label -> printed value."""

    def __init__(self):
        super().__init__()
        self.rows, self._cells, self._in_td = {}, [], False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._cells = []
        elif tag == "td":
            self._in_td = True
            self._cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False
        elif tag == "tr" and len(self._cells) == 3:
            self.rows[self._cells[0]] = self._cells[1]

    def handle_data(self, data):
        if self._in_td:
            self._cells[-1] += data


@pytest.mark.parametrize("name", list(EXERCISES))
def test_instructions_carry_the_exercise_s_own_title_settings_and_treatments(name):
    game = EXERCISES[name]
    defaults = game.default_params()
    page = handouts.instructions_html(name)
    assert game.title in page and game.round_hint in page and game.summary in page
    for treatment in game.treatments:
        assert treatment in page
    parser = TableRows()
    parser.feed(page)
    for setting in game.settings:
        printed = parser.rows[setting.label]
        assert float(printed.replace(",", "")) == pytest.approx(defaults[setting.name]), setting.name
    assert float(parser.rows["Rounds in the session"]) == game.default_rounds

    text = pdf_text(handouts.instructions_pdf(name))
    assert handouts.latin1(game.title) in text
    for setting in game.settings:
        assert handouts.format_value(defaults[setting.name]) in text


def test_the_first_round_example_is_what_the_game_shows():
    game = EXERCISES["bargaining"]
    params = game.check_params({**game.default_params(), "seed": 0})
    state = game.begin(params, game.treatments[0], game.new_group(params, game.treatments[0], 1))
    items = [s for s in handouts.instructions("bargaining").sections if s.items][0].items
    # The growers decide while the buyer waits: both screens are shown, each as the game words it.
    for seat in (1, 2):
        situation = game.turn(params, game.treatments[0], state, seat, {}).situation
        assert any(item.startswith(f"Seat {seat}:") and situation in item for item in items)
    # In the public goods game every seat sees the same kind of screen: one example is enough.
    examples = [s for s in handouts.instructions("public goods").sections if s.items][0].items
    assert len(examples) == 1 and examples[0].startswith("Seat 1:")


def test_a_changed_exercise_changes_its_handout(monkeypatch):
    game = EXERCISES["public goods"]
    monkeypatch.setattr(game, "title", "Sharing the cooler")
    monkeypatch.setattr(game, "settings", tuple(replace(s, default=7) if s.name == "endowment" else s
                                                for s in type(game).settings))
    page = handouts.instructions_html("public goods")
    assert "Sharing the cooler" in page and "Contributing to the common project" not in page
    parser = TableRows()
    parser.feed(page)
    assert parser.rows["Tokens each member receives per period"] == "7"
    assert "You have 7 tokens" in page
    assert "Sharing the cooler" in pdf_text(handouts.instructions_pdf("public goods"))


def test_an_unknown_exercise_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="public goods, bargaining, governance"):
        handouts.instructions_pdf("chess")


# --- join cards ---------------------------------------------------------------------------


def test_join_cards_are_a_pdf_with_the_address_and_the_code_on_every_card():
    data = handouts.join_cards_pdf(JOIN_URL, "k7q-m2p", "Contributing to the common project", cards=11)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert page_count(data) == math.ceil(11 / 8)
    text = pdf_text(data)
    assert text.count("K7QM2P") == 11          # cleaned: no hyphen, capitals
    assert text.count(JOIN_URL) == 11
    assert "Contributing to the common project" in text


@pytest.mark.parametrize("join_url", [JOIN_URL, "http://10.42.0.1:9000/", "https://workshop.example.org/room/"])
def test_the_qr_code_drawn_is_the_join_link_with_the_code(join_url):
    data = handouts.join_cards_pdf(join_url, "ABC234", "Workshop", cards=1)
    link = handouts.join_link(join_url, "ABC234")
    assert parse_qs(urlsplit(link).query) == {"code": ["ABC234"]}
    assert link.startswith(join_url.rstrip("/"))
    drawn = qr_from_rectangles(page_contents(data)[0])
    expected = [[bool(v) for v in row] for row in segno.make(link, error="m").matrix]
    assert drawn == expected
    # ... and not the code of some other link
    assert drawn != [[bool(v) for v in row] for row in segno.make(join_url, error="m").matrix]


def test_the_qr_code_is_big_enough_to_scan():
    data = handouts.join_cards_pdf(JOIN_URL, "ABC234", "Workshop", cards=1)
    rects = re.findall(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\s+f", page_contents(data)[0])
    xs = [float(x) for x, *_ in rects] + [float(x) + float(w) for x, _, w, _ in rects]
    assert (max(xs) - min(xs)) / PT >= 35      # at least 35 mm across


def test_the_join_link_keeps_other_query_parts_and_replaces_a_code():
    assert handouts.join_link("http://h:8866/?code=OLD&lang=en", "NEW234") == "http://h:8866/?lang=en&code=NEW234"
    assert handouts.join_link("http://h:8866", "ABC234") == "http://h:8866/?code=ABC234"
    assert handouts.address_to_type("http://h:8866/?code=OLD") == "http://h:8866/"


def test_the_html_cards_carry_the_same_qr_code():
    page = handouts.join_cards_html(JOIN_URL, "ABC234", "Workshop", cards=3)
    assert page.count('class="join-card"') == 3
    svg = re.search(r"<svg.*?</svg>", page, flags=re.DOTALL).group(0)
    link = handouts.join_link(JOIN_URL, "ABC234")
    matrix = segno.make(link, error="m").matrix
    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, w in re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="1"/>', svg):
        for column in range(int(x) - 4, int(x) - 4 + int(w)):
            drawn[int(y) - 4][column] = True
    assert drawn == [[bool(v) for v in row] for row in matrix]
    assert "ABC234" in page and JOIN_URL in page


def test_text_outside_latin1_still_prints():
    data = handouts.join_cards_pdf(JOIN_URL, "ABC234", "Coopérative – séance ৩", cards=1)
    assert "Coopérative - séance ?" in pdf_text(data)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(code=""), "join code is empty"),
        (dict(code="   "), "join code is empty"),
        (dict(code="AB$12"), "letters and digits"),
        (dict(code=None), "must be text"),
        (dict(join_url="ftp://192.168.1.20/"), "must start with http:// or https://"),
        (dict(join_url="192.168.1.20:8866"), "must start with http:// or https://"),
        (dict(join_url=""), "join address is empty"),
        (dict(join_url="http://"), "must name the laptop"),
        (dict(cards=0), "from 1 to 200"),
        (dict(cards=-3), "from 1 to 200"),
        (dict(cards=2.5), "whole number"),
        (dict(cards=True), "whole number"),
        (dict(cards=201), "from 1 to 200"),
        (dict(title=None), "title must be text"),
    ],
)
def test_bad_input_is_refused_in_plain_words(kwargs, message):
    arguments = dict(join_url=JOIN_URL, code="ABC234", title="Workshop", cards=8) | kwargs
    with pytest.raises(ValueError, match=message) as error:
        handouts.join_cards_pdf(**arguments)
    assert "Traceback" not in str(error.value) and str(error.value).endswith(".")
    with pytest.raises(ValueError, match=message):
        handouts.join_cards_html(**arguments)


def test_the_sample_sheet_says_it_is_a_sample():
    text = pdf_text(handouts.sample_join_cards_pdf())
    assert text.count(handouts.SAMPLE_NOTE) == 8
    assert handouts.SAMPLE_URL in text and handouts.SAMPLE_CODE in text


# --- the built book -----------------------------------------------------------------------


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def test_the_built_book_holds_every_handout_and_links_to_it(built_book: Path):
    folder = built_book / "handouts"
    for name in EXERCISES:
        for suffix in (".pdf", ".html"):
            assert (folder / f"instructions-{handouts.slug(name)}{suffix}").is_file()
        assert (folder / f"instructions-{handouts.slug(name)}.pdf").read_bytes().startswith(b"%PDF-")
        assert EXERCISES[name].title in (folder / f"instructions-{handouts.slug(name)}.html").read_text()
    assert (folder / "join-cards-sample.pdf").read_bytes().startswith(b"%PDF-")
    assert handouts.SAMPLE_NOTE in (folder / "join-cards-sample.html").read_text()

    page_path = built_book / "book" / "workshop-guide" / "handouts.html"
    page = page_path.read_text()
    links = Links()
    links.feed(page)
    targets = {(page_path.parent / href).resolve() for href in links.hrefs if "handouts/" in href}
    expected = {p.resolve() for p in folder.iterdir()}
    assert targets == expected
    for game in EXERCISES.values():
        assert game.title in page
    assert "@media print" in page
