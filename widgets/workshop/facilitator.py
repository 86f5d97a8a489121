"""The facilitator's screen in a live workshop: meant for the projector.

- Create a session: exercise, treatment, parameters, rounds. The join code is shown large
  with a QR code of the participants' link (drawn here by ``segno``, no internet needed).
- The lobby: who has joined; form the groups (empty seats are played by simulated members).
- Open and close rounds; switch the treatment between rounds. While a round is open, a
  chart shows the decisions as they arrive.
- After each round, the debrief compares the room with the published pattern (where one
  exists) and with earlier sessions of the same exercise on this server.
- Downloads: the CSV export (one row per participant per round) and a session summary.

Each session's facilitator key is kept in the server's data folder (``SessionKeys``), so a
reloaded page or a restarted server carries on with the same session. The screen
refreshes itself from the store with an asyncio task on the kernel's loop.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import secrets
from pathlib import Path
from typing import Mapping

import ipywidgets as w
import segno

from widgets.charts import COLOURS, figure, png_bytes
from widgets.handouts import join_cards_pdf
from widgets.workshop import exercises
from widgets.workshop.participant import classed, escape
from widgets.workshop.refreshing import SelfRefreshing
from widgets.workshop.store import Store, WorkshopError

DATA_VARIABLE = "WORKSHOP_DATA_DIR"
PUBLIC_URL_VARIABLE = "WORKSHOP_PUBLIC_URL"
KEYS_FILE = "session-keys.json"
POLL_SECONDS = 0.25  # a decision reaches the projector well within a second (a tick costs ~10 ms)
EARLIER_SESSIONS = 5   # earlier sessions drawn in the debrief
GREY = "#999999"

CSS = """
<style>
.ws-fac { font-size: 1.15rem; line-height: 1.4; }
.ws-fac .widget-html-content { font-size: 1.15rem; line-height: 1.4; }
.ws-fac button { font-size: 1.15rem; min-height: 2.8rem; }
.ws-fac-code .widget-html-content { font-size: 4.5rem; font-weight: bold; letter-spacing: 0.3rem; line-height: 1.1; }
.ws-fac-title .widget-html-content { font-size: 1.7rem; font-weight: bold; }
.ws-fac-status .widget-html-content { font-size: 1.5rem; }
.ws-fac-message .widget-html-content { color: #B00020; font-weight: bold; }
.ws-fac-downloads a { display: inline-block; margin: 0.3rem 1rem 0.3rem 0; padding: 0.5rem 1rem;
  background: #0072B2; color: white; border-radius: 0.4rem; text-decoration: none; }
</style>
"""
BUTTON = dict(width="auto", min_width="11rem", margin="0.25rem")


def _html(css_class: str, value: str = "") -> w.HTML:
    return classed(w.HTML(value), css_class)


def _button(description: str, css_class: str, style: str = "") -> w.Button:
    return classed(w.Button(description=description, button_style=style, layout=w.Layout(**BUTTON)), css_class)


def _image(css_class: str, width: str = "100%") -> w.Image:
    return classed(w.Image(format="png", layout=w.Layout(width=width, max_width="900px", height="auto")), css_class)


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG bytes."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


def data_link(content: str | bytes, filename: str, mime: str, label: str, css_class: str) -> str:
    """An HTML link that downloads ``content`` as a file, with no request to the server."""
    if isinstance(content, str):
        content, mime = content.encode("utf-8"), f"{mime};charset=utf-8"
    encoded = base64.b64encode(content).decode("ascii")
    return (f'<a class="{css_class}" download="{html.escape(filename)}" '
            f'href="data:{mime};base64,{encoded}">{escape(label)}</a>')


class SessionKeys:
    """The facilitator keys of the sessions started on this server, in a file only its user
    may read (the store keeps only their hashes). Without a folder they live in memory."""

    def __init__(self, folder: str | Path | None):
        self.path = Path(folder) / KEYS_FILE if folder else None
        self._memory: dict[int, str] = {}

    def all(self) -> dict[int, str]:
        if self.path is None:
            return dict(self._memory)
        try:
            return {int(k): v for k, v in json.loads(self.path.read_text()).items()}
        except FileNotFoundError:
            return {}

    def get(self, session_id: int) -> str | None:
        return self.all().get(session_id)

    def put(self, session_id: int, key: str) -> None:
        if self.path is None:
            self._memory[session_id] = key
            return
        keys = {**self.all(), session_id: key}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        spare = self.path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        spare.touch(mode=0o600)
        spare.write_text(json.dumps({str(k): v for k, v in keys.items()}))
        spare.replace(self.path)  # whole file or nothing, even if the server is killed meanwhile


# --- charts -------------------------------------------------------------------------------


def live_chart(data: Mapping) -> bytes:
    """The decisions of the open round: a histogram of numbers, or bars of counts."""
    with figure(8, 3.8) as (fig, ax):
        numbers, counts = data.get("numbers") or [], data.get("counts") or {}
        if numbers or not counts:
            low, high = data.get("low", 0.0), data.get("high", 1.0)
            bins = min(20, max(5, int(high - low) if high - low >= 5 else 10))
            ax.hist(numbers, bins=bins, range=(low, high), color=COLOURS[0], edgecolor="white")
            ax.set_xlim(low, high)
            ax.set_xlabel(data.get("axis", ""))
            ax.set_ylabel("people")
            if numbers:
                mean = sum(numbers) / len(numbers)
                ax.axvline(mean, color=COLOURS[3], linestyle="--", label=f"mean {mean:,.2f}")
                ax.legend(loc="upper right", frameon=False)
        else:
            labels = list(counts)
            ax.bar(labels, [counts[k] for k in labels], color=COLOURS[:len(labels)])
            ax.set_ylabel(data.get("axis", ""))
        shown = len(numbers) + sum(v for k, v in counts.items() if k != "points in all")
        ax.set_title(f"{data.get('title', '')} ({shown})")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return png_bytes(fig)


def debrief_chart(debrief: Mapping, earlier: list[list[tuple[float, float]]]) -> bytes:
    """This room's path, the published one (dashed) and earlier sessions (grey)."""
    with figure(8, 4.2) as (fig, ax):
        for number, path in enumerate(earlier):
            if path:
                xs, ys = zip(*path)
                ax.plot(xs, ys, color=GREY, linewidth=1.2, label="earlier sessions" if number == 0 else None)
        published = debrief.get("published")
        if published and published["points"]:
            xs, ys = zip(*published["points"])
            ax.plot(xs, ys, color=COLOURS[1], linestyle="--", marker="s", label=published["label"])
        if debrief["room"]:
            xs, ys = zip(*debrief["room"])
            ax.plot(xs, ys, color=COLOURS[0], marker="o", label="this room")
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_xlabel(debrief["x_label"])
        ax.set_ylabel(debrief["y_label"])
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", frameon=False, fontsize=11)
        return png_bytes(fig)


# --- the screen ---------------------------------------------------------------------------


class FacilitatorApp(SelfRefreshing, w.VBox):
    """Create or continue a session, and run it from the projector."""

    def __init__(self, store: Store, keys: SessionKeys, public_url: str, poll_seconds: float = POLL_SECONDS):
        self.store = store
        self.session_keys = keys
        self.public_url = public_url if public_url.endswith("/") else public_url + "/"
        self.poll_seconds = poll_seconds
        self.session_id: int | None = None
        self._key: str | None = None
        self._shown: dict[str, object] = {}
        self._results: dict[int, dict] = {}
        self._build_form()
        self._build_session()
        self.message = _html("ws-fac-message")
        super().__init__([w.HTML(CSS), self.form, self.session, self.message])
        self.add_class("ws-fac")
        latest = self._unfinished()
        if latest:
            self.show_session(latest[0])
        else:
            self.show_form()

    # --- building ---

    def _build_form(self) -> None:
        self.exercise = w.Dropdown(options=[(e.title, e.name) for e in exercises.EXERCISES.values()],
                                   description="Exercise", style={"description_width": "12rem"},
                                   layout=w.Layout(width="40rem"))
        self.exercise.add_class("ws-fac-exercise")
        self.treatment = w.Dropdown(description="Treatment", style={"description_width": "12rem"},
                                    layout=w.Layout(width="40rem"))
        self.treatment.add_class("ws-fac-treatment")
        self.rounds = w.BoundedIntText(description="Rounds", min=1, max=100, value=5,
                                       style={"description_width": "12rem"}, layout=w.Layout(width="22rem"))
        self.rounds.add_class("ws-fac-rounds")
        self.about = _html("ws-fac-about")
        self.settings_box = w.VBox([])
        self.fields: dict[str, w.Widget] = {}
        self.create_button = _button("Create the session", "ws-fac-create", "primary")
        self.create_button.on_click(lambda _: self.create())
        self.resume_box = w.VBox([])
        self.form = w.VBox([_html("ws-fac-title", "New workshop session"), self.exercise, self.about,
                            self.treatment, self.settings_box, self.rounds, self.create_button, self.resume_box])
        self.exercise.observe(lambda _: self._fill_form(), "value")
        self._fill_form()

    def _fill_form(self) -> None:
        game = exercises.exercise(self.exercise.value)
        defaults = game.default_params()
        self.treatment.options = game.treatments
        self.treatment.value = game.treatments[0]
        for field in self.fields.values():  # the previous exercise's fields are gone for good
            field.close()
        self.fields = {}
        for setting in game.settings:
            kind = w.BoundedIntText if setting.whole else w.BoundedFloatText
            field = kind(value=defaults[setting.name], min=setting.low, max=setting.high, step=setting.step,
                         description=setting.label, style={"description_width": "28rem"},
                         layout=w.Layout(width="40rem"))
            field.add_class(f"ws-fac-setting-{setting.name}")
            self.fields[setting.name] = field
        self.settings_box.children = tuple(self.fields.values())
        self.rounds.max = game.max_rounds(defaults)
        self.rounds.value = min(game.default_rounds, self.rounds.max)
        self.about.value = f"{escape(game.summary)} {escape(game.round_hint)}"

    def _build_session(self) -> None:
        self.title = _html("ws-fac-title")
        self.code = _html("ws-fac-code")
        self.join_url = _html("ws-fac-url")
        self.qr = _image("ws-fac-qr", width="16rem")
        self.lobby = _html("ws-fac-lobby")
        self.form_groups_button = _button("Form groups", "ws-fac-form-groups")
        self.open_button = _button("Open the next round", "ws-fac-open", "success")
        self.close_button = _button("Close the round", "ws-fac-close", "warning")
        self.finish_button = _button("Finish the session", "ws-fac-finish", "danger")
        self.next_treatment = w.Dropdown(description="Next rounds", style={"description_width": "8rem"},
                                         layout=w.Layout(width="26rem"))
        self.next_treatment.add_class("ws-fac-next-treatment")
        self.treatment_button = _button("Switch treatment", "ws-fac-switch")
        self.new_button = _button("New session", "ws-fac-new")
        for button, action in ((self.form_groups_button, self.form_groups), (self.open_button, self.open_round),
                               (self.close_button, self.close_round), (self.finish_button, self.finish),
                               (self.treatment_button, self.switch_treatment), (self.new_button, self.show_form)):
            button.on_click(lambda _, action=action: action())
        self.status = _html("ws-fac-status")
        self.live = _image("ws-fac-live")
        self.debrief = _html("ws-fac-debrief")
        self.debrief_image = _image("ws-fac-debrief-chart")
        self.downloads = _html("ws-fac-downloads")
        self.cards = _html("ws-fac-cards")
        join = w.HBox([self.qr, w.VBox([_html("", "Join at"), self.join_url, _html("", "with the code"), self.code,
                                        self.cards])])
        actions = w.HBox([self.form_groups_button, self.open_button, self.close_button, self.finish_button],
                         layout=w.Layout(flex_flow="row wrap"))
        switching = w.HBox([self.next_treatment, self.treatment_button, self.new_button],
                           layout=w.Layout(flex_flow="row wrap"))
        self.session = w.VBox([self.title, join, self.lobby, actions, switching, self.status, self.live,
                               self.debrief, self.debrief_image, self.downloads])

    # --- switching screens ---

    def _unfinished(self) -> list[int]:
        """Sessions started here that are not finished, newest first."""
        found = []
        for session_id in sorted(self.session_keys.all(), reverse=True):
            try:
                if self.store.lobby(session_id)["status"] != "finished":
                    found.append(session_id)
            except WorkshopError:
                continue
        return found

    def show_form(self) -> None:
        self.session_id, self._key = None, None
        self.message.value = ""
        buttons = []
        for session_id in self._unfinished()[:5]:
            info = self.store.lobby(session_id)
            button = _button(f"Continue {info['join_code']} ({exercises.exercise(info['exercise']).title})",
                             "ws-fac-continue")
            button.on_click(lambda _, s=session_id: self.show_session(s))
            buttons.append(button)
        self.resume_box.children = tuple(buttons)
        self.form.layout.display = ""
        self.session.layout.display = "none"

    def show_session(self, session_id: int) -> None:
        key = self.session_keys.get(session_id)
        if key is None:
            self.message.value = "This server does not hold the key of that session."
            return
        self.session_id, self._key = session_id, key
        info = self.store.lobby(session_id)
        game = exercises.exercise(info["exercise"])
        url = f"{self.public_url}?code={info['join_code']}"
        self.qr.value = qr_png(url)
        self.code.value = escape(info["join_code"])
        self.join_url.value = f"<b>{escape(self.public_url)}</b>"
        cards = join_cards_pdf(self.public_url, info["join_code"], game.title)
        self.cards.value = data_link(cards, f"join-cards-{info['join_code']}.pdf", "application/pdf",
                                     "Print join cards (PDF)", "ws-fac-cards-pdf")
        self.title.value = escape(game.title)
        self.next_treatment.options = game.treatments
        self.next_treatment.value = info["treatment"] if info["treatment"] in game.treatments else game.treatments[0]
        self._shown, self._results = {}, {}
        self.message.value = ""
        self.form.layout.display = "none"
        self.session.layout.display = ""
        self.refresh()

    # --- actions ---

    def create(self) -> int | None:
        """Create a session from the form; returns its number, or None with a message."""
        game = exercises.exercise(self.exercise.value)
        try:
            raw = {name: field.value for name, field in self.fields.items()}
            params = game.check_params({**raw, "seed": secrets.randbelow(2**31)})
            rounds = self.rounds.value
            if not 1 <= rounds <= game.max_rounds(params):
                raise ValueError(f"The number of rounds must be a whole number from 1 to {game.max_rounds(params)}; "
                                 f"got {rounds}.")
            session_id, _, key = self.store.create_session(game.name, params, game.group_size(params), rounds,
                                                           game.check_treatment(self.treatment.value))
        except ValueError as error:
            self.message.value = escape(str(error))
            return None
        self.session_keys.put(session_id, key)
        self.show_session(session_id)
        return session_id

    def _act(self, action) -> bool:
        try:
            action()
        except WorkshopError as error:
            self.message.value = escape(str(error))
            self.refresh()
            return False
        self.message.value = ""
        self.refresh()
        return True

    def form_groups(self) -> bool:
        return self._act(lambda: self.store.form_groups(self.session_id, self._key))

    def open_round(self) -> bool:
        return self._act(lambda: self.store.open_round(self.session_id, self._key))

    def switch_treatment(self) -> bool:
        return self._act(lambda: self.store.set_treatment(self.session_id, self._key, self.next_treatment.value))

    def finish(self) -> bool:
        return self._act(lambda: self.store.finish(self.session_id, self._key))

    def close_round(self) -> bool:
        """Close the open round; its results are worked out from exactly the stored decisions."""
        return self._act(lambda: self.store.close_round(self.session_id, self._key,
                                                        exercises.round_closer(self.store, self.session_id)))

    # --- refreshing ---

    def _changed(self, part: str, value) -> bool:
        if self._shown.get(part) == value:
            return False
        self._shown[part] = value
        return True

    def refresh(self) -> None:
        """Read the session from the store and redraw what changed."""
        if self.session_id is None:
            return
        info = self.store.lobby(self.session_id)
        game = exercises.exercise(info["exercise"])
        people = info["participants"]
        if self._changed("lobby", tuple(p["display_name"] for p in people)):
            names = ", ".join(escape(p["display_name"]) for p in people) or "nobody yet"
            self.lobby.value = f"<b>{len(people)} joined</b>: {names}"
        closed = info["current_round"] - (1 if info["round_open"] else 0)  # rounds close in order
        if self._changed("closed", (closed, info["status"])):
            self._results = self.store.results(self.session_id)
            self._draw_debrief(info, game)
        self._draw_status(info, game)

    def _states(self, info, game) -> dict[int, dict]:
        groups = [g["group"] for g in info["groups"]]
        states = exercises.group_states(game, info["params"], info["treatment"], self._results, groups)
        return {g: game.begin(info["params"], info["treatment"], s) for g, s in states.items()}

    def _draw_status(self, info, game) -> None:
        number, total = info["current_round"], info["rounds"]
        groups = info["groups"]
        simulated = sum(len(g["simulated_seats"]) for g in groups)
        seating = (f"{len(groups)} group{'s' if len(groups) != 1 else ''} of {info['group_size']}, "
                   f"{simulated} seat{'s' if simulated != 1 else ''} played by simulated members. ") if groups else ""
        self.form_groups_button.disabled = info["status"] != "lobby"
        self.open_button.disabled = info["round_open"] or info["status"] == "finished" or number >= total \
            or not groups
        self.close_button.disabled = not info["round_open"]
        self.finish_button.disabled = info["round_open"] or info["status"] == "finished"
        self.treatment_button.disabled = info["round_open"] or info["status"] == "finished"
        treatment = f"Treatment: <b>{escape(info['treatment'] or '')}</b>. "
        if info["status"] == "finished":
            self.status.value = f"The session has finished after {number} of {total} rounds. {seating}"
            return
        if not info["round_open"]:
            done = f"Round {number} of {total} is closed. " if number else "No round has started. "
            self.status.value = done + treatment + seating
            return
        rows = self.store.decisions(self.session_id, number)
        states = self._states(info, game)
        expected = 0
        for group in groups:
            deciding = game.deciders(info["params"], info["treatment"], states[group["group"]])
            expected += sum(1 for member in group["members"] if member["seat"] in deciding)
        self.status.value = (f"Round {number} of {total} is open: <b>{len(rows)} of {expected}</b> "
                             f"decision{'s' if expected != 1 else ''} in. " + treatment + seating)
        if self._changed("live", (number, len(rows))):
            self.live.value = live_chart(game.live(info["params"], info["treatment"], states, rows))

    def _draw_debrief(self, info, game) -> None:
        rounds = [self._results[n] for n in sorted(self._results) if self._results[n]]
        code = info["join_code"]
        csv_text = self.store.export_csv(self.session_id, self._key)
        summary = self.store.summary(self.session_id)
        if not rounds:
            self.debrief.value = ""
            self.downloads.value = data_link(csv_text, f"workshop-{code}.csv", "text/csv",
                                             "Download the results (CSV)", "ws-fac-csv")
            return
        debrief = game.debrief(info["params"], rounds)
        earlier = self._earlier_paths(game, info)
        lines = "".join(f"<li>{escape(line)}</li>" for line in debrief["lines"])
        source = game.published()
        cite = f"<p><small>{escape(source['citation'])}</small></p>" if source else ""
        self.debrief.value = f"<b>Debrief</b><ul>{lines}</ul>{cite}"
        self.debrief_image.value = debrief_chart(debrief, earlier)
        report = {"session": summary, "debrief": debrief["lines"], "params": info["params"]}
        self.downloads.value = (
            data_link(csv_text, f"workshop-{code}.csv", "text/csv", "Download the results (CSV)", "ws-fac-csv")
            + data_link(json.dumps(report, indent=2, default=str), f"workshop-{code}-summary.json",
                        "application/json", "Download the session summary", "ws-fac-summary"))

    def _earlier_paths(self, game: exercises.Exercise, info: Mapping) -> list[list[tuple[float, float]]]:
        """The debrief paths of earlier sessions of the same exercise started on this server."""
        paths = []
        for session_id in sorted(self.session_keys.all(), reverse=True):
            if session_id >= self.session_id or len(paths) >= EARLIER_SESSIONS:
                continue
            try:
                other = self.store.lobby(session_id)
            except WorkshopError:
                continue
            if other["exercise"] != game.name:
                continue
            results = self.store.results(session_id)
            rounds = [results[n] for n in sorted(results) if results[n]]
            if rounds:
                paths.append(game.debrief(other["params"], rounds)["room"])
        return paths

    def store_unreachable(self, error: Exception) -> None:
        self.message.value = escape(f"Cannot read the store right now ({error}); trying again.")


def facilitator_app(store: Store, environ: Mapping[str, str] | None = None) -> FacilitatorApp:
    """The facilitator's screen for the workshop server's kernel (see ``server.py``)."""
    environ = os.environ if environ is None else environ
    public = environ.get(PUBLIC_URL_VARIABLE)
    if not public:
        host = environ.get("SERVER_NAME", "127.0.0.1")
        port = environ.get("SERVER_PORT", "")
        public = f"http://{host}{':' + port if port else ''}/"
    return FacilitatorApp(store, SessionKeys(environ.get(DATA_VARIABLE)), public).start()
