"""The participant's phone screen in a live workshop, and the app's front door.

``app(query)`` is what the workshop notebook shows for a request:

- ``?key=K`` with the server's facilitator key: the facilitator's screen (imported only
  then, with its charts);
- ``?token=T``: the participant's seat (``Seat``), rebuilt from the store, so a reload or a
  dropped connection brings the participant back to the same place;
- ``?code=ABC123`` or nothing: the join form (``JoinForm``); after joining, the seat
  takes its place on the same page (no second kernel) and the page's address becomes
  ``?token=T``, so a reload comes back to the seat;
- a wrong key, or a token or code the store does not know: a message, nothing else.

One column, large controls, short sentences: these screens are read on small phones.
The seat refreshes itself from the store with an asyncio task on the kernel's loop.

Kept lean on purpose (no pandas, no matplotlib): this module is imported while a
preheated kernel waits for its request.
"""
from __future__ import annotations

import asyncio
import html
import json
import os
import secrets
from typing import Any, Mapping, MutableMapping
from urllib.parse import parse_qs, quote

import ipywidgets as w

from widgets.workshop import exercises
from widgets.workshop.refreshing import SelfRefreshing
from widgets.workshop.store import BUSY, Store, WorkshopError

STORE_VARIABLE = "WORKSHOP_STORE_URL"
KEY_VARIABLE = "WORKSHOP_FACILITATOR_KEY"
POLL_SECONDS = 1.0  # a phone sees a round open within about a second

BAD_KEY = "This facilitator link is not valid. Please use the link printed when the workshop server started."
NO_STORE = "The workshop server was started without its store. Please start it with python -m widgets.workshop.server."
STORE_LOST = "The connection to the workshop is interrupted. This page will carry on by itself in a moment."
TYPE_A_NUMBER = "Please type a number from {low:g} to {high:g}."

CSS = """
<style>
.ws-screen { max-width: 34rem; font-size: 1.2rem; line-height: 1.45; }
.ws-screen .widget-html-content, .ws-screen .widget-label { font-size: 1.2rem; line-height: 1.45; }
.ws-title .widget-html-content { font-size: 1.6rem; font-weight: bold; }
.ws-screen input[type="text"] { font-size: 1.6rem; height: 3rem; }
.ws-screen .widget-text .widget-label { font-size: 1.2rem; }
.ws-screen button { font-size: 1.3rem; min-height: 3.2rem; }
.ws-message .widget-html-content { color: #B00020; font-weight: bold; }
.ws-sent .widget-html-content { color: #006B3C; font-weight: bold; }
</style>
"""
BUTTON_LAYOUT = dict(width="100%", height="3.4rem", margin="0.3rem 0")
FIELD_LAYOUT = dict(width="100%")


def escape(text: str) -> str:
    """Text made safe inside HTML (quotes stay as they are: they are not in an attribute)."""
    return html.escape(text, quote=False)


def classed(widget: w.Widget, css_class: str) -> w.Widget:
    """``widget`` with a CSS class: for the page's style, and how tests and bots find it."""
    widget.add_class(css_class)
    return widget


def _html(css_class: str, value: str = "") -> w.HTML:
    return classed(w.HTML(value, layout=w.Layout(width="100%")), css_class)


def _button(description: str, css_class: str, style: str = "primary") -> w.Button:
    return classed(w.Button(description=description, button_style=style, layout=w.Layout(**BUTTON_LAYOUT)),
                   css_class)


def _text(description: str, css_class: str, value: str = "", placeholder: str = "") -> w.Text:
    field = w.Text(value=value, description=description, placeholder=placeholder,
                   style={"description_width": "initial"}, layout=w.Layout(**FIELD_LAYOUT))
    field.add_class(css_class)
    return field


def _screen(children: list[w.Widget]) -> w.VBox:
    box = w.VBox([w.HTML(CSS)] + children, layout=w.Layout(width="100%", max_width="34rem"))
    box.add_class("ws-screen")
    return box


def message_screen(text: str) -> w.VBox:
    """A screen with one message and nothing else (a wrong link)."""
    return _screen([_html("ws-message", escape(text))])


def number_from_text(text: Any) -> Any:
    """What a person typed, as a number when it reads as one; otherwise as typed, so the
    model's check names it in its message. A decimal comma is read as a point."""
    if not isinstance(text, str):
        return text
    cleaned = text.strip().replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    for kind in (int, float):
        try:
            return kind(cleaned)
        except ValueError:
            continue
    return text


# --- joining ------------------------------------------------------------------------------


class JoinForm(w.VBox):
    """Join code (prefilled from the QR code's link) and a display name; once joined, the
    participant's seat replaces the form on the same page."""

    def __init__(self, store: Store, code: str = "", poll_seconds: float = POLL_SECONDS):
        self.store = store
        self.poll_seconds = poll_seconds
        self.token: str | None = None
        self.seat: Seat | None = None
        self.code = _text("Code", "ws-join-code", value=code, placeholder="ABC123")
        self.name = _text("Your name", "ws-join-name", placeholder="as the others will see it")
        self.join_button = _button("Join", "ws-join-button")
        self.join_button.on_click(lambda _: self.join())
        self.message = _html("ws-message")
        # Where the page is told its new address; a reload then comes back to the seat.
        self.address = w.Output(layout=w.Layout(display="none"))
        super().__init__([_screen([_html("ws-title", "Join the workshop"), self.code, self.name,
                                   self.join_button, self.message]), self.address])

    def join(self) -> None:
        try:
            _, token = self.store.join(self.code.value, self.name.value)
        except WorkshopError as error:
            self.message.value = escape(str(error))
            return
        self.token = token
        self.seat = Seat(self.store, token, self.poll_seconds).start()
        form, self.children = self.children[0], (self.seat, self.address)
        for widget in form.children + (form,):  # the form is done with for good
            widget.close()
        script = f"history.replaceState(null, '', {json.dumps('?token=' + quote(token))});"
        self.address.outputs = ({"output_type": "display_data", "metadata": {},
                                 "data": {"application/javascript": script, "text/plain": ""}},)

    def stop(self) -> None:
        if self.seat is not None:
            self.seat.stop()


# --- the seat -----------------------------------------------------------------------------


class Seat(SelfRefreshing, w.VBox):
    """One participant's seat: lobby, decision, own and group result, next round.

    Everything shown is rebuilt from the store on each refresh; the only thing this
    kernel keeps is the participant's token, which never goes into a widget.
    """

    def __init__(self, store: Store, token: str, poll_seconds: float = POLL_SECONDS):
        self.store = store
        self._token = token
        self.poll_seconds = poll_seconds
        self._shown: tuple | None = None
        self._results: dict[int, dict] = {}
        self._results_for: tuple = ()
        self.info: dict = {}
        self.turn: exercises.Turn | None = None
        self.inputs: dict[int | None, w.Text] = {}
        self.header = _html("ws-header")
        self.status = _html("ws-status")
        self.situation = _html("ws-situation")
        self.controls = w.VBox([], layout=w.Layout(width="100%"))
        self.controls.add_class("ws-controls")
        self.message = _html("ws-message")
        self.sent = _html("ws-sent")
        self.result = _html("ws-result")
        super().__init__([_screen([self.header, self.status, self.situation, self.controls, self.message,
                                   self.sent, self.result])])
        self.refresh()

    # --- reading the store ---

    @property
    def game(self) -> exercises.Exercise:
        return exercises.exercise(self.info["exercise"])

    def _names(self) -> dict[int, str]:
        names = {m["seat"]: m["display_name"] for m in self.info.get("group_members", [])}
        if self.info.get("seat") is not None:
            names[self.info["seat"]] = "you"
        return names

    def _group_state(self) -> dict:
        info = self.info
        states = exercises.group_states(self.game, info["params"], info["treatment"], self._results, [info["group"]])
        return self.game.begin(info["params"], info["treatment"], states[info["group"]])

    def refresh(self) -> None:
        """Read the seat from the store and redraw what changed (typed text is kept)."""
        try:
            info = self.store.rejoin(self._token)
        except WorkshopError as error:
            if str(error) == BUSY:  # a moment's queue at the store: keep the screen and what was typed
                self.message.value = escape(str(error))
            else:  # the link or the session is no longer valid
                self._show_only(str(error))
            return
        self.info = info
        closed = tuple(info["closed_rounds"])
        if closed != self._results_for:
            self._results = self.store.results(info["session_id"])
            self._results_for = closed
        shown = (info["status"], info["current_round"], info["round_open"], info["submitted_this_round"], closed,
                 info["group"], info["seat"], info["treatment"], tuple(sorted(self._names().items())))
        if shown == self._shown:
            return
        self._shown = shown
        self._draw()

    def _show_only(self, text: str) -> None:
        self._shown = None
        self.header.value = self.result.value = ""
        self._set()
        self.message.value = escape(text)

    def _draw(self) -> None:
        info, game = self.info, self.game
        self.header.value = (f"<b>{escape(info['display_name'])}</b> · {escape(game.title)} · "
                             f"code {escape(info['join_code'])}")
        self.message.value = ""
        self.result.value = self._last_result()
        self.turn = None
        if info["status"] == "finished":
            self._set(status="The session has finished. Thank you for taking part!")
            return
        if info["group"] is None:
            self._set(status="You are in. Please wait for the facilitator to form the groups.")
            return
        others = [m["display_name"] for m in info["group_members"] if m["seat"] != info["seat"]]
        group = (f"Group {info['group']}, seat {info['seat']}. With you: "
                 f"{escape(', '.join(others)) if others else 'simulated members only'}"
                 + (" and simulated members." if others and info["simulated_seats"] else "."))
        round_number = info["current_round"]
        if not info["round_open"]:
            waiting = "The first round starts soon." if round_number == 0 else \
                f"Round {round_number} of {info['rounds']} is closed. Please wait for the next round."
            self._set(status=f"{group} {waiting}")
            return
        state = self._group_state()
        self.turn = game.turn(info["params"], info["treatment"], state, info["seat"], self._names())
        status = f"{group} Round {round_number} of {info['rounds']}."
        heading = f"<b>{escape(self.turn.heading)}</b><br>{escape(self.turn.situation)}"
        if info["submitted_this_round"]:
            sent = info["decisions"].get(round_number)
            self._set(status=status, situation=heading,
                      sent=f"Sent: {escape(_shown_decision(sent, self._names()))}. Waiting for the others.")
        elif not self.turn.decides:
            self._set(status=status, situation=heading)
        else:
            self._set(status=status, situation=heading, controls=self._controls(self.turn.control))

    def _set(self, status: str = "", situation: str = "", sent: str = "", controls: list | None = None) -> None:
        self.status.value = status
        self.situation.value = situation
        self.sent.value = sent
        old, self.controls.children = self.controls.children, tuple(controls or ())
        for widget in old:  # a round's controls are gone for good: free them in the page too
            if widget not in self.controls.children:
                widget.close()
        if not controls:
            self.inputs = {}

    def _last_result(self) -> str:
        """The seat's and its group's result in the latest closed round that involved the group."""
        info = self.info
        if info["group"] is None:
            return ""
        for number in sorted(self._results, reverse=True):
            entry = (self._results[number] or {}).get("groups", {}).get(str(info["group"]))
            if entry is not None:
                text = self.game.describe(info["params"], entry, info["seat"], self._names())
                return f"<b>Round {number}</b>: {escape(text)}"
        return ""

    # --- deciding ---

    def _controls(self, control: exercises.Control) -> list[w.Widget]:
        self.inputs = {}
        if control.kind == exercises.CHOICE:
            buttons = []
            for value, label in control.options:
                button = _button(label, "ws-choice", style="info")
                button.add_class(f"ws-choice-{value}")
                button.on_click(lambda _, value=value: self.send(value))
                buttons.append(button)
            return [_html("ws-label", f"<b>{escape(control.label)}</b>")] + buttons
        if control.kind == exercises.NUMBER:
            field = _text(control.label, "ws-number", placeholder=f"{control.low:g} to {control.high:g}")
            self.inputs[None] = field
        else:
            for seat, who in control.targets:
                field = _text(who, "ws-points", value="0", placeholder=f"0 to {control.high:g}")
                self.inputs[seat] = field
        send = _button("Send", "ws-send")
        send.on_click(lambda _: self.send())
        return list(self.inputs.values()) + [send]

    def _typed(self) -> Any:
        control = self.turn.control
        if control.kind == exercises.NUMBER:
            text = self.inputs[None].value
            if not text.strip():
                raise WorkshopError(TYPE_A_NUMBER.format(low=control.low, high=control.high))
            return number_from_text(text)
        points = {}
        for seat, field in self.inputs.items():
            if not field.value.strip():
                raise WorkshopError(TYPE_A_NUMBER.format(low=control.low, high=control.high))
            points[str(seat)] = number_from_text(field.value)
        return points

    def send(self, value: Any = None) -> bool:
        """Send a decision for the open round (the typed one unless ``value`` is given).

        Returns True when the store recorded it; otherwise the message says why and the
        store is unchanged.
        """
        info = self.info
        try:
            if self.turn is None or not info.get("round_open"):
                raise WorkshopError("No round is open right now. Please wait for the facilitator.")
            if value is None:
                value = self._typed()
            state = self._group_state()
            params, treatment, seat = info["params"], info["treatment"], info["seat"]
            self.store.submit(self._token, info["current_round"], value,
                              lambda v: self.game.validate(params, treatment, state, seat, v))
        except WorkshopError as error:
            self.refresh()
            self.message.value = escape(str(error))
            return False
        self.refresh()
        return True

    def store_unreachable(self, error: Exception) -> None:
        self.message.value = escape(STORE_LOST)


def _shown_decision(value: Any, names: Mapping[int, str]) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{points:g} point{'s' if points != 1 else ''} to "
                         f"{names.get(int(seat)) or f'seat {seat}'}"
                         for seat, points in value.items() if points) or "no sanction points"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


# --- the front door -----------------------------------------------------------------------


def query_string(timeout: float = 24 * 3600) -> str:
    """The page's query string; a preheated kernel waits here until its page is requested.

    Does what ``voila.utils.get_query_string`` does (Voilà sends the request to the kernel
    over its ``voila/query/<kernel id>`` websocket), without importing ``voila``: that
    pulls in Jupyter Server, whose JSON-schema checks build a grammar at import, about
    five seconds of processor time in every kernel, that is for every phone that joins.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "False":
        return os.environ.get("QUERY_STRING", "")
    import threading

    import websockets

    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    url = (f"{os.environ.get('VOILA_WS_PROTOCOL', 'ws')}://{os.environ.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{os.environ.get('VOILA_APP_PORT', '8866')}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}")
    received: list[str] = []

    async def receive() -> None:
        try:
            async with websockets.connect(url, open_timeout=5) as socket:
                received.append(await asyncio.wait_for(socket.recv(), timeout))
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            pass  # as Voila does: no request info, so the page gets the join form

    # The kernel's own loop is busy running this cell, so the wait has a loop of its own.
    waiter = threading.Thread(target=lambda: asyncio.run(receive()), daemon=True)
    waiter.start()
    waiter.join()
    if received:
        os.environ.update(json.loads(received[0]))
    return os.environ.get("QUERY_STRING", "")



def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _same_secret(given: str, expected: str | None) -> bool:
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def app(query: str | None, environ: MutableMapping[str, str] | None = None) -> w.Widget:
    """The screen for one request to the workshop app, chosen by its query string."""
    environ = os.environ if environ is None else environ
    # The facilitator key leaves the kernel's environment at once: only this function needs it.
    key = environ.pop(KEY_VARIABLE, None)
    url = environ.get(STORE_VARIABLE)
    if not url:
        return message_screen(NO_STORE)
    query = parse_qs(query or "", keep_blank_values=True)
    given_key = _first(query, "key")
    if given_key is not None:
        if not _same_secret(given_key, key):
            return message_screen(BAD_KEY)
        from widgets.workshop.facilitator import facilitator_app  # charts and QR codes: facilitator only

        return facilitator_app(Store(url), environ)
    store = Store(url)
    token = _first(query, "token")
    if token is not None:
        try:
            store.rejoin(token)
        except WorkshopError as error:
            return message_screen(str(error))
        return Seat(store, token).start()
    code = (_first(query, "code") or "").strip()
    if code:
        try:
            store.check_code(code)
        except WorkshopError as error:
            return message_screen(str(error))
    return JoinForm(store, code)
