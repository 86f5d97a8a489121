"""The workshop's screens driven from Python, no browser: the facilitator's and the phones'.

Controls are set and buttons clicked as on the page; the tests read the texts, images and
links the screens show, and check the store behind them.
"""
from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time

import ipywidgets as w
import pytest

from widgets.workshop import exercises as ex
from widgets.workshop import facilitator as fac
from widgets.workshop import participant as part
from widgets.workshop.store import (ALREADY_SENT, BAD_TOKEN, EXPIRED, FINISHED, NAME_EMPTY, ROUND_CLOSED, Store,
                                    UNKNOWN_CODE)

PNG = b"\x89PNG"
PUBLIC_URL = "http://192.0.2.10:8866/"
KEY = "the-servers-facilitator-key"


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'workshop.db'}") as opened:
        yield opened


@pytest.fixture
def keys(tmp_path):
    return fac.SessionKeys(tmp_path / "data")


# The screens start refresh tasks on the current event loop, as in a kernel.
pytestmark = pytest.mark.kernel_loop


def everything(widget) -> list:
    """A widget and all the widgets inside it."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += everything(child)
    return found


def texts(widget) -> str:
    return " ".join(str(x.value) for x in everything(widget) if isinstance(x, (w.HTML, w.Label)))


def controls_of(widget) -> list:
    return [x for x in everything(widget) if isinstance(x, (w.Button, w.Text, w.Dropdown, w.BoundedIntText,
                                                             w.BoundedFloatText))]


def new_session(store, keys, exercise="public goods", treatment=None, rounds=3, **settings) -> fac.FacilitatorApp:
    app = fac.FacilitatorApp(store, keys, PUBLIC_URL)
    app.exercise.value = exercise
    if treatment:
        app.treatment.value = treatment
    for name, value in settings.items():
        app.fields[name].value = value
    app.rounds.value = rounds
    assert app.create() is not None, app.message.value
    return app


def join(store, code: str, name: str) -> part.Seat:
    form = part.JoinForm(store, code)
    form.name.value = name
    form.join()
    assert form.token, form.message.value
    return form.seat


def csv_rows(app: fac.FacilitatorApp) -> list[dict]:
    link = re.search(r'class="ws-fac-csv" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"',
                     app.downloads.value)
    text = base64.b64decode(link.group(2)).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


# --- joining -------------------------------------------------------------------------------------


def test_joining_refuses_a_wrong_code_and_an_empty_name_then_seats_the_participant_on_the_same_page(store, keys):
    app = new_session(store, keys)
    code = app.code.value
    form = part.JoinForm(store, "ZZZZZZ")
    form.name.value = "Ana"
    form.join()
    assert form.message.value == UNKNOWN_CODE.format(code="ZZZZZZ") and form.token is None
    form.code.value, form.name.value = code.lower(), "   "
    form.join()
    assert form.message.value == NAME_EMPTY and form.token is None
    assert store.lobby(app.session_id)["participants"] == []  # nothing was stored
    form.name.value = "Ana"
    form.join()
    assert form.children[0] is form.seat and form.seat._token == form.token
    assert "Ana" in form.seat.header.value and "You are in" in form.seat.status.value
    assert controls_of(form) == []  # the form's fields are gone, not just hidden
    script = form.address.outputs[0]["data"]["application/javascript"]
    assert f'"?token={form.token}"' in script  # a reload of this page comes back to the seat
    assert store.rejoin(form.token)["display_name"] == "Ana"


def test_the_front_door_shows_each_link_its_own_screen(store, keys, tmp_path):
    environ = {part.STORE_VARIABLE: str(store.engine.url), part.KEY_VARIABLE: KEY,
               fac.DATA_VARIABLE: str(tmp_path / "data"), fac.PUBLIC_URL_VARIABLE: PUBLIC_URL}

    def screen(query):
        return part.app(query, dict(environ))

    for query, message in (("key=wrong", part.BAD_KEY), ("token=not-a-token", BAD_TOKEN),
                           ("code=ZZZZZZ", UNKNOWN_CODE.format(code="ZZZZZZ"))):
        shown = screen(query)
        assert controls_of(shown) == [], query  # a message and nothing else
        assert message in texts(shown)
    facilitator = screen(f"key={KEY}")
    assert isinstance(facilitator, fac.FacilitatorApp)
    assert isinstance(screen(""), part.JoinForm)
    code = new_session(store, keys).code.value
    form = screen(f"code={code}")
    assert isinstance(form, part.JoinForm) and form.code.value == code
    seat = join(store, code, "Bo")
    assert isinstance(screen(f"token={seat._token}"), part.Seat)
    assert controls_of(part.app("key=x", {})) == [] and part.NO_STORE in texts(part.app("", {}))
    # The key leaves the kernel's environment as soon as the page is routed.
    used = dict(environ)
    part.app("token=x", used)
    assert part.KEY_VARIABLE not in used


def test_codes_of_expired_or_finished_sessions_let_nobody_in(store, keys):
    environ = {part.STORE_VARIABLE: str(store.engine.url)}
    _, expired, _ = store.create_session("public goods", {}, 4, 1, ttl_hours=1e-6)
    time.sleep(0.01)
    shown = part.app(f"code={expired}", dict(environ))
    assert controls_of(shown) == [] and EXPIRED in texts(shown)
    app = new_session(store, keys)
    app.finish()
    shown = part.app(f"code={app.code.value}", dict(environ))
    assert controls_of(shown) == [] and FINISHED in texts(shown)


# --- a whole session -----------------------------------------------------------------------------


def test_a_public_goods_session_from_the_facilitators_and_the_phones_screens(store, keys):
    app = new_session(store, keys, "public goods", ex.NO_SANCTIONS, rounds=3)
    code = app.code.value
    assert app.qr.value == fac.qr_png(f"{PUBLIC_URL}?code={code}") and app.qr.value[:4] == PNG
    cards = re.search(r'class="ws-fac-cards-pdf" download="join-cards-([A-Z0-9]+)\.pdf" '
                      r'href="data:application/pdf;base64,([^"]+)"', app.cards.value)
    assert cards.group(1) == code and base64.b64decode(cards.group(2)).startswith(b"%PDF")
    names = ["Ana", "Bo", "Cy", "Di", "Ed"]
    seats = [join(store, code, name) for name in names]
    app.refresh()
    assert app.lobby.value.startswith("<b>5 joined</b>") and all(n in app.lobby.value for n in names)
    assert "Please wait for the facilitator to form the groups" in seats[0].status.value
    assert app.open_button.disabled is True  # no groups yet
    app.form_groups()
    assert app.open_button.disabled is False
    app.open_round()
    assert app.form_groups_button.disabled is True and app.open_button.disabled is True
    assert "Round 1 of 3 is open: <b>0 of 5</b>" in app.status.value
    charts = {app.live.value}
    typed = [20, 10, 0, 10, 7]
    for seat, tokens in zip(seats, typed):
        seat.refresh()
        assert "Period 1: your contribution" in seat.situation.value
        seat.inputs[None].value = str(tokens)
        assert seat.send() is True and f"Sent: {tokens}." in seat.sent.value
        app.refresh()
        charts.add(app.live.value)
    assert len(charts) == 1 + len(seats)  # the projected chart changed with every decision
    assert "<b>5 of 5</b> decisions in" in app.status.value
    app.close_round()
    for seat in seats:
        seat.refresh()
    # Group 1 is Ana, Bo, Cy, Di: 40 tokens return 16 each; Ana gave 20 and keeps 0 + 16.
    assert seats[0].result.value == ("<b>Round 1</b>: Period 1: you gave 20.0; your group gave 10.0 on average. "
                                     "You earned 16.0 this period.")
    assert "Round 1 of 3 is closed" in seats[0].status.value
    assert "This room gave" in app.debrief.value and "Fehr &amp; Gächter" in app.debrief.value
    assert app.debrief_image.value[:4] == PNG
    rows = csv_rows(app)
    assert [(r["participant"], float(r["decision"])) for r in rows] == list(zip(names, map(float, typed)))
    assert all(r["round"] == "1" and r["treatment"] == ex.NO_SANCTIONS for r in rows)
    summary = re.search(r'download="workshop-[A-Z0-9]+-summary.json" href="data:application/json;charset=utf-8;'
                        r'base64,([^"]+)"', app.downloads.value)
    report = json.loads(base64.b64decode(summary.group(1)))
    assert report["session"]["rounds_closed"] == 1 and report["session"]["participants"] == 5

    # Sanctions from now on: the next period takes two rounds.
    app.next_treatment.value = ex.SANCTIONS
    assert app.switch_treatment()
    app.open_round()
    for seat in seats:
        seat.refresh()
        seat.inputs[None].value = "5"
        assert seat.send()
    app.close_round()
    app.open_round()
    seats[0].refresh()
    assert "Period 2: sanctions" in seats[0].situation.value
    assert [f.description for f in seats[0].inputs.values()] == ["Bo", "Cy", "Di"]
    seats[0].inputs[3].value = "2"
    assert seats[0].send() and "Sent: 2 points to Cy." in seats[0].sent.value
    assert store.decisions(app.session_id, 3)[0]["value"] == {"2": 0, "3": 2, "4": 0}
    app.close_round()
    app.finish()
    seats[0].refresh()
    assert "The session has finished" in seats[0].status.value
    assert "Sanctions cost you" in seats[0].result.value or "giving them cost you 2.0" in seats[0].result.value
    assert len(csv_rows(app)) == 3 * 5


def test_bad_input_on_a_phone_shows_a_message_and_stores_nothing(store, keys):
    app = new_session(store, keys, "public goods")
    seat, other = join(store, app.code.value, "Ana"), join(store, app.code.value, "Bo")
    app.form_groups()
    seat.send("5")
    assert seat.message.value == "No round is open right now. Please wait for the facilitator."
    app.open_round()
    seat.refresh()
    for typed, words in (("25", "from 0 to 20"), ("abc", "from 0 to 20"), ("", "Please type a number from 0 to 20"),
                         ("-1", "from 0 to 20"), ("nan", "from 0 to 20")):
        seat.inputs[None].value = typed
        assert seat.send() is False
        assert words in seat.message.value, typed
    assert store.decisions(app.session_id) == []
    seat.inputs[None].value = "12,5"  # a decimal comma, as many phones type it
    assert seat.send() and store.decisions(app.session_id)[0]["value"] == 12.5
    # The same seat open in a second tab: its decision is already in.
    twin = part.Seat(store, seat._token)
    assert "Sent: 12.5." in twin.sent.value and twin.inputs == {}
    assert twin.send("3") is False and twin.message.value == ALREADY_SENT.format(round=1)
    # A phone that had not noticed the round closing.
    other.refresh()
    other.inputs[None].value = "4"
    app.close_round()
    assert other.send() is False and other.message.value == ROUND_CLOSED.format(round=1)
    assert [d["value"] for d in store.decisions(app.session_id)] == [12.5]


def test_a_negotiation_on_the_phones(store, keys):
    app = new_session(store, keys, "bargaining", ex.GROWERS_FIRST, rounds=4)
    growers, buyer = join(store, app.code.value, "Grower"), join(store, app.code.value, "Buyer")
    app.form_groups()
    app.open_round()
    growers.refresh(), buyer.refresh()
    assert "Waiting for an offer from the growers' association" in buyer.situation.value
    assert controls_of(buyer.controls) == [] and buyer.send("3") is False
    assert "not your turn" in buyer.message.value
    growers.inputs[None].value = "4.2"
    assert growers.send()
    app.refresh()
    assert "<b>1 of 1</b> decision in" in app.status.value  # only the side to move is counted
    app.close_round()
    app.open_round()
    buyer.refresh()
    assert "The growers' association offers 4.20 per unit" in buyer.situation.value
    labels = [b.description for b in controls_of(buyer.controls) if isinstance(b, w.Button)]
    assert labels == ["Accept", "Reject"]
    reject = next(b for b in controls_of(buyer.controls) if b.description == "Reject")
    reject.click()
    assert store.decisions(app.session_id, 2)[0]["value"] == "reject"
    assert "Sent: reject." in buyer.sent.value


def test_a_vote_on_the_phones(store, keys):
    app = new_session(store, keys, "governance", "Votes by capital", rounds=2, members=3, special=1,
                      committee_size=2)
    seats = [join(store, app.code.value, n) for n in ("Ana", "Bo")]
    app.form_groups()
    app.open_round()
    seats[0].refresh()
    assert "Proposal 1 of 5: Buy land in the association's name" in seats[0].situation.value
    assert "The rule: Votes by capital." in seats[0].situation.value
    assert re.search(r"net [+−-][\d,]+\.", seats[0].situation.value)
    yes = next(b for b in controls_of(seats[0].controls) if b.description == "Yes")
    yes.click()
    app.refresh()
    assert "<b>1 of 2</b>" in app.status.value
    app.close_round()
    seats[1].refresh()
    assert "Buy land in the association's name:" in seats[1].result.value and "under Votes by capital" in \
        seats[1].result.value


def test_the_facilitator_is_told_what_to_do_first(store, keys):
    app = new_session(store, keys)
    assert app.open_button.disabled and app.close_button.disabled
    assert app.open_round() is False and app.message.value == "Form the groups before opening the first round."
    assert app.form_groups() is False and "Nobody has joined yet" in app.message.value
    # A new session whose parameters the model refuses: the form says why and nothing is created.
    app.show_form()
    app.exercise.value = "governance"
    app.fields["members"].value, app.fields["special"].value = 5, 5
    assert app.create() is None and app.message.value.startswith("Special members must be fewer")
    assert len(app.session_keys.all()) == 1  # still only the first session


def test_a_reloaded_facilitator_page_carries_on_with_the_same_session(store, keys, tmp_path):
    app = new_session(store, keys)
    join(store, app.code.value, "Ana")
    app.form_groups()
    app.open_round()
    again = fac.FacilitatorApp(store, fac.SessionKeys(tmp_path / "data"), PUBLIC_URL)
    assert again.session_id == app.session_id and again.code.value == app.code.value
    assert "Round 1 of 3 is open" in again.status.value
    assert stat.S_IMODE(os.stat(tmp_path / "data" / fac.KEYS_FILE).st_mode) == 0o600
    assert again.close_round()
    app.finish()
    fresh = fac.FacilitatorApp(store, fac.SessionKeys(tmp_path / "data"), PUBLIC_URL)
    assert fresh.session_id is None and fresh.session.layout.display == "none"  # the form, for a new session


def test_a_reloaded_phone_is_back_in_its_seat(store, keys):
    app = new_session(store, keys)
    seat = join(store, app.code.value, "Ana")
    app.form_groups()
    app.open_round()
    seat.refresh()
    seat.inputs[None].value = "9"
    seat.send()
    again = part.Seat(store, seat._token)
    assert again.header.value == seat.header.value and "Sent: 9." in again.sent.value
    assert "Group 1, seat 1" in again.status.value


def test_the_screens_refresh_themselves_on_the_kernels_loop(store, keys):
    loop = asyncio.get_event_loop()
    app = new_session(store, keys)
    seat = join(store, app.code.value, "Ana")
    app.form_groups()
    app.poll_seconds, seat.poll_seconds = 0.1, 0.1
    app.start(), seat.start()

    def facilitator_opens():
        app.open_round()  # another kernel, as far as the phone knows: only the store changed

    loop.call_later(0.2, facilitator_opens)
    loop.run_until_complete(asyncio.sleep(0.8))
    assert None in seat.inputs, "the phone did not notice the round opening"
    status = app.status.value
    store.submit(seat._token, 1, 6.0, lambda v: v)  # the phone's decision arrives in the store
    loop.run_until_complete(asyncio.sleep(0.5))
    assert "<b>0 of 1</b>" in status and "<b>1 of 1</b>" in app.status.value
    app.stop(), seat.stop()


def test_the_phones_path_imports_no_pandas_matplotlib_or_jupyter_server(tmp_path):
    script = f"""
import sys
from widgets.workshop import participant
from widgets.workshop.store import Store
store = Store("sqlite:///{tmp_path / 'lean.db'}")
_, code, key = store.create_session("public goods", {{"group_size": 4, "endowment": 20, "mpcr": 0.4,
    "punishment_cost": 1.0, "punishment_effect": 3.0, "max_points": 10, "seed": 1}}, 4, 2, "No sanctions")
form = participant.JoinForm(store, code)
form.name.value = "Ana"
form.join()
store.form_groups(1, key)
store.open_round(1, key)
seat = participant.Seat(store, form.token)
assert seat.inputs, "the seat shows no control"
heavy = ("pandas", "matplotlib", "segno", "jupyter_server", "voila", "lark", "pydantic")
print(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _serve_query(port: int, kernel_id: str, payload: dict, ready: threading.Event, stop: threading.Event):
    """A stand-in for Voilà's query socket: sends the request's info to the kernel that asks."""
    import websockets.asyncio.server as ws_server

    async def handler(connection):
        assert connection.request.path == f"/voila/query/{kernel_id}"
        await connection.send(json.dumps(payload))

    async def main():
        async with ws_server.serve(handler, "127.0.0.1", port):
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)

    asyncio.run(main())


def test_a_preheated_kernel_gets_its_query_string_as_voilas_own_helper_does(monkeypatch):
    from voila.utils import ENV_VARIABLE, get_query_string

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    payload = {"QUERY_STRING": "token=abc", "SERVER_NAME": "127.0.0.1"}
    for name, value in ((ENV_VARIABLE.VOILA_PREHEAT, "True"), (ENV_VARIABLE.VOILA_APP_PORT, str(port)),
                        (ENV_VARIABLE.VOILA_APP_IP, "127.0.0.1"), (ENV_VARIABLE.VOILA_KERNEL_ID, "k-1"),
                        (ENV_VARIABLE.VOILA_SERVER_URL, "/")):
        monkeypatch.setenv(str(name), value)
    ready, stop = threading.Event(), threading.Event()
    server = threading.Thread(target=_serve_query, args=(port, "k-1", payload, ready, stop), daemon=True)
    server.start()
    ready.wait(10)
    try:
        ours = part.query_string()
        monkeypatch.setenv("QUERY_STRING", "")
        theirs = get_query_string()
    finally:
        stop.set()
        server.join(10)
    assert ours == theirs == "token=abc"
    monkeypatch.setenv(str(ENV_VARIABLE.VOILA_PREHEAT), "False")
    monkeypatch.setenv("QUERY_STRING", "code=XYZ")
    assert part.query_string() == "code=XYZ"


def test_numbers_typed_on_a_phone_are_read_kindly():
    assert part.number_from_text(" 12 ") == 12 and part.number_from_text("3,5") == 3.5
    assert part.number_from_text("1.5") == 1.5 and part.number_from_text("x") == "x"
    assert part.number_from_text("1,000.5") == "1,000.5"  # left for the model's check to name


def test_names_are_shown_as_text_never_as_markup(store, keys):
    app = new_session(store, keys)
    join(store, app.code.value, "Ana")
    eve = join(store, app.code.value, '<img src=x onerror="alert(1)">')
    app.refresh()
    assert "<img" not in app.lobby.value and "&lt;img src=x onerror=\"alert(1)\"&gt;" in app.lobby.value
    app.form_groups()
    eve.refresh()
    assert "<img" not in eve.header.value and "&lt;img" in eve.header.value
