"""A room of simulated phones against the real workshop server, measured.

``workshop_load(quick)`` starts ``python -m widgets.workshop.server`` on 127.0.0.1 in a
temporary data folder, has a facilitator create a public goods session, lets 40 simulated
participants join within five seconds (3 with ``quick``), plays 10 rounds (1), and returns
rows for the benchmark table: join time (median and 95th percentile), the time from the
last decision to the facilitator's screen, decisions lost or duplicated, and the memory of
a participant's and of the facilitator's kernel. It stops by itself within its time limit.

Each simulated participant is a ``PageClient``: it opens the Voilà page as a browser does
(an HTTP request, so Voilà gives it a kernel that runs the app notebook), then talks to
that kernel's widgets over the kernel websocket the way the widgets' JavaScript does:
it reads their state, types into text fields and clicks buttons. The server and the
kernels do exactly the work a phone would cause; only the page's drawing is left out.
The same client drives the real-server tests.
"""
from __future__ import annotations

import glob
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import websocket

from bench.common import descendants, free_port, listening, percentile, row, target

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60
PAGE_TIMEOUT_SECONDS = 120


# --- the server ---------------------------------------------------------------------------


class WorkshopServer:
    """``python -m widgets.workshop.server`` on 127.0.0.1, with everything it starts.

    ``kill()`` ends the whole tree with SIGKILL (a crash, or the laptop's lid closing on a
    dying battery); ``stop()`` asks politely. Only processes this object started are touched.
    """

    def __init__(self, data_dir: Path, port: int | None = None, pool_size: int = 2):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.pool_size = pool_size
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def key(self) -> str:
        return (self.data_dir / "facilitator-key").read_text().strip()

    @property
    def store_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'workshop.db').resolve()}"

    def start(self) -> WorkshopServer:
        # Voilà logs every kernel and connection: into a file, since a pipe nobody reads
        # fills up with a roomful of phones and then stops the server in mid-sentence.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir / "server.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "widgets.workshop.server", "--port", str(self.port), "--data-dir",
                 str(self.data_dir), "--pool-size", str(self.pool_size)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not listening(self.port, self.process, START_TIMEOUT_SECONDS):
            self.kill()
            raise RuntimeError(f"The workshop server did not start: {self.log.read_text()[-3000:]}")
        return self

    def wait_until_warm(self, timeout: float) -> float:
        """Wait until Voilà reports its pool of warm kernels full; returns the seconds waited."""
        started = time.monotonic()
        while f"is filled with {self.pool_size} kernel" not in self.log.read_text(errors="replace"):
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"The pool of {self.pool_size} warm kernels was not full after {timeout:.0f} s.")
            time.sleep(0.2)
        return time.monotonic() - started

    def descendants(self) -> list[int]:
        """Process ids of the server and everything under it (Voilà and its kernels)."""
        return [] if self.process is None else descendants(self.process.pid)

    def kill(self) -> None:
        """SIGKILL the server and all its processes at once: nothing gets to clean up."""
        pids = self.descendants()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pids = self.descendants()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.2)
        for pid in pids:  # anything still there after a polite request
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def __enter__(self) -> WorkshopServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kernel_pid(kernel_id: str) -> int | None:
    """The process of a Jupyter kernel: the one listening on the shell port that its
    connection file names (a forked kernel's command line does not name the file)."""
    files = glob.glob(f"{tempfile.gettempdir()}/voila_*/kernel-{kernel_id}.json")
    if not files:
        return None
    with open(files[0]) as connection:
        port = json.load(connection)["shell_port"]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # listening
                    inodes.add(f"socket:[{fields[9]}]")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if any(os.readlink(f"/proc/{entry}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{entry}/fd")):
                    return int(entry)
            except OSError:
                continue
    return None


def unique_set_size(pid: int) -> int:
    """Bytes of memory only this process holds (private pages), from smaps_rollup."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in ("Private_Clean", "Private_Dirty", "Private_Hugetlb"):
                total += int(rest.split()[0]) * 1024
    return total


# --- one page, without a browser ------------------------------------------------------------


V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def _pack(message: dict) -> bytes:
    """A kernel message in the kernel websocket's v1 framing (what JupyterLab's pages speak).

    Voilà reads every binary frame it forwards as v1, so a client of the older framing
    makes it loop for ever on the first message that carries a buffer (an image).
    """
    parts = [json.dumps(message[k]).encode() for k in ("header", "parent_header", "metadata", "content")]
    channel = message["channel"].encode()
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(channel))
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join([len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets), channel,
                     *parts])


def _unpack(frame: bytes) -> dict:
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1):8 * (i + 2)], "little") for i in range(count)] + [len(frame)]
    chunks = [frame[offsets[i]:offsets[i + 1]] for i in range(count)]
    channel, parts = chunks[0].decode(), chunks[1:]
    header, parent, metadata, content = (json.loads(part) if part else {} for part in parts[:4])
    return {"channel": channel, "header": header, "parent_header": parent, "metadata": metadata,
            "content": content, "buffers": list(parts[4:])}


class PageClient:
    """One Voilà page of the workshop app, opened and used without a browser.

    ``PageClient(url, query)`` requests the page (Voilà starts or takes a kernel and runs
    the app notebook for it), connects to the kernel's websocket and reads every widget's
    state. ``find``, ``value``, ``type_into``, ``click`` and ``wait_for`` then use the
    widgets by their CSS classes, as a person does on the page.
    """

    def __init__(self, base_url: str, query: str = "", timeout: float = PAGE_TIMEOUT_SECONDS):
        self.base_url = base_url
        self.timeout = timeout
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base_url}/?{query}", timeout=timeout) as response:
            self.html = response.read().decode()
        found = re.search(r'"kernelId": "([0-9a-f-]+)"', self.html)
        if not found:
            raise RuntimeError("The page names no kernel.")
        self.kernel_id = found.group(1)
        self.states: dict[str, dict] = {}
        self.closed: set[str] = set()
        self.replies: list[dict] = []
        self.seen: list[dict] = []  # every message received, for tests that look for what must not come
        self._lock = threading.Lock()
        self.ws = websocket.create_connection(
            f"{base_url.replace('http', 'ws', 1)}/api/kernels/{self.kernel_id}/channels?session_id={uuid.uuid4().hex}",
            timeout=timeout, subprotocols=[V1_PROTOCOL])
        self.ws.settimeout(0.2)
        info = self.request("comm_info_request", {"target_name": "jupyter.widget"}, "comm_info_reply")
        comms = [c for c, v in info["content"]["comms"].items() if v.get("target_name") == "jupyter.widget"]
        for comm_id in comms:
            self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "request_state"}})
        # A widget may be closed meanwhile (a round's controls replaced): it will not answer.
        self.pump(lambda: all(c in self.states or c in self.closed for c in comms))
        self.load_seconds = time.perf_counter() - started

    # --- the wire ---

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "username": "", "session": uuid.uuid4().hex,
                  "date": "", "version": "5.3"}
        self.ws.send_binary(_pack({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                   "channel": channel}))
        return msg_id

    def _receive(self) -> dict | None:
        try:
            frame = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        message = _unpack(frame) if isinstance(frame, bytes) else json.loads(frame)
        message.setdefault("buffers", [])
        self._apply(message)
        return message

    def _apply(self, message: dict) -> None:
        self.seen.append({"channel": message.get("channel"), "msg_type": message["header"]["msg_type"]})
        kind, content = message["header"]["msg_type"], message.get("content", {})
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            state = dict(content["data"].get("state", {}))
            self._buffers(state, content["data"].get("buffer_paths", []), message["buffers"])
            self.states[content["comm_id"]] = state
        elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
            state = dict(content["data"].get("state", {}))
            self._buffers(state, content["data"].get("buffer_paths", []), message["buffers"])
            self.states.setdefault(content["comm_id"], {}).update(state)
        elif kind == "comm_close":
            self.states.pop(content.get("comm_id"), None)
            self.closed.add(content.get("comm_id"))
        elif message.get("channel") == "shell":
            self.replies.append(message)

    @staticmethod
    def _buffers(state: dict, paths: list, buffers: list) -> None:
        for path, buffer in zip(paths, buffers):
            target = state
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = bytes(buffer)

    def pump(self, until: Callable[[], bool], timeout: float | None = None) -> None:
        """Read messages until ``until()`` holds; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._lock:
            while not until():
                if time.monotonic() > deadline:
                    raise TimeoutError("The page did not reach the expected state in time.")
                self._receive()

    def drain(self, seconds: float) -> None:
        """Read whatever arrives during ``seconds``."""
        deadline = time.monotonic() + seconds
        with self._lock:
            while time.monotonic() < deadline:
                self._receive()

    def request(self, msg_type: str, content: dict, reply_type: str, timeout: float | None = None) -> dict:
        msg_id = self.send(msg_type, content)

        def answered():
            return any(r["parent_header"].get("msg_id") == msg_id for r in self.replies)

        self.pump(answered, timeout)
        return next(r for r in self.replies if r["parent_header"].get("msg_id") == msg_id)

    # --- widgets by their CSS classes ---

    def find(self, css_class: str) -> list[str]:
        return [c for c, s in self.states.items() if css_class in s.get("_dom_classes", ())]

    def has(self, css_class: str) -> bool:
        return bool(self.find(css_class))

    def value(self, css_class: str, index: int = 0):
        found = self.find(css_class)
        return self.states[found[index]].get("value") if len(found) > index else None

    def new_address(self) -> str | None:
        """The script a page runs to change its own address (after joining), if any."""
        for state in self.states.values():
            for output in state.get("outputs", ()):
                script = output.get("data", {}).get("application/javascript", "")
                if "history.replaceState" in script:
                    return script
        return None

    def update(self, comm_id: str, state: dict) -> None:
        self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": state, "buffer_paths": []}})
        self.states[comm_id].update(state)

    def type_into(self, css_class: str, text: str, index: int = 0) -> None:
        self.update(self.find(css_class)[index], {"value": text})

    def choose(self, css_class: str, label: str) -> None:
        """Pick an option of a dropdown by its label."""
        comm_id = self.find(css_class)[0]
        self.update(comm_id, {"index": list(self.states[comm_id]["_options_labels"]).index(label)})

    def click(self, css_class: str, index: int = 0) -> None:
        comm_id = self.find(css_class)[index]
        self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})

    def wait_for(self, css_class: str, text: str, timeout: float | None = None) -> str:
        """Wait until a widget with ``css_class`` shows ``text``; returns its value."""
        def shown():
            return any(text in str(self.states[c].get("value", "")) for c in self.find(css_class))

        self.pump(shown, timeout)
        return next(str(self.states[c]["value"]) for c in self.find(css_class)
                    if text in str(self.states[c].get("value", "")))

    def close(self, shut_down: bool = True) -> None:
        """Leave the page; like the browser's page, ask Voilà to shut its kernel down."""
        try:
            self.ws.close()
        finally:
            if shut_down:
                request = urllib.request.Request(f"{self.base_url}/voila/api/shutdown/{self.kernel_id}",
                                                 method="POST", data=b"")
                try:
                    urllib.request.urlopen(request, timeout=10).close()
                except (urllib.error.URLError, OSError):
                    pass


# --- a whole room ---------------------------------------------------------------------------


def join(base_url: str, code: str, name: str) -> tuple[str, PageClient, float]:
    """Join as a participant: the join page, the name, the button; the seat then takes the
    form's place on the same page, whose address becomes ``?token=...``.

    Returns the token, the page and the seconds from asking for the join page to the seat
    being shown.
    """
    started = time.perf_counter()
    page = PageClient(base_url, f"code={code}")
    page.type_into("ws-join-name", name)
    page.click("ws-join-button")
    page.wait_for("ws-status", "You are in")
    seconds = time.perf_counter() - started
    page.pump(lambda: page.new_address() is not None)
    token = re.search(r"\?token=([A-Za-z0-9_%-]+)", page.new_address()).group(1)
    return token, page, seconds


def create_session(page: PageClient, exercise_title: str, rounds: int, treatment: str | None = None) -> str:
    """On the facilitator's page: pick the exercise, set the rounds, create; returns the join code."""
    page.choose("ws-fac-exercise", exercise_title)
    page.pump(lambda: page.states[page.find("ws-fac-rounds")[0]].get("max") is not None, 5)
    if treatment:
        page.choose("ws-fac-treatment", treatment)
    page.update(page.find("ws-fac-rounds")[0], {"value": rounds})
    page.click("ws-fac-create")
    page.pump(lambda: bool(page.value("ws-fac-code")), 30)
    return page.value("ws-fac-code")


def workshop_load(quick: bool, pool_size: int | None = None) -> list[dict]:
    """Measure a live public goods session on the real server (see the module's docstring).

    ``pool_size`` is the server's ``--pool-size`` (kernels kept warm): the room and two more.
    """
    from widgets.workshop.store import Store

    participants, rounds = (3, 1) if quick else (40, 10)
    join_window = 5.0
    deadline = time.monotonic() + (180 if quick else 900)
    pool_size = pool_size or participants + 2  # sized for the room, as the README advises
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as folder, \
            WorkshopServer(Path(folder), pool_size=pool_size) as server:
        server.wait_until_warm(120)  # the warm kernels start, as before a room arrives
        facilitator = PageClient(server.url, f"key={server.key}")
        code = create_session(facilitator, "Contributing to the common project", rounds)
        session_id = int(next(iter(json.loads((server.data_dir / "session-keys.json").read_text()))))
        failures: list[str] = []

        def arrive(number: int):
            time.sleep(join_window * number / participants)  # arrivals spread over the window
            name = f"Participant {number + 1}"
            try:
                _, seat, seconds = join(server.url, code, name)
            except (OSError, TimeoutError, RuntimeError, websocket.WebSocketException) as error:
                failures.append(f"{name}: {type(error).__name__}: {error}")
                return None  # a phone that could not get in: counted in the report
            return name, seat, seconds

        with ThreadPoolExecutor(max_workers=participants) as pool:
            joined = [j for j in pool.map(arrive, range(participants)) if j is not None]
        names = [name for name, _, _ in joined]
        seats = [seat for _, seat, _ in joined]
        join_times = [seconds for _, _, seconds in joined]
        if failures:
            print("Could not join:", *failures, sep="\n  ", file=sys.stderr)
        with Store(server.store_url) as store:  # a phone may be in the store without its seat's page
            in_store = len(store.lobby(session_id)["participants"])
        facilitator.wait_for("ws-fac-lobby", f"{in_store} joined")
        facilitator.click("ws-fac-form-groups")
        facilitator.wait_for("ws-fac-status", "played by simulated members")

        sent: dict[tuple[int, str], float] = {}
        latencies = []
        for round_number in range(1, rounds + 1):
            if time.monotonic() > deadline:
                raise TimeoutError("The workshop benchmark ran out of time.")
            facilitator.click("ws-fac-open")
            facilitator.wait_for("ws-fac-status", f"Round {round_number} of {rounds} is open")

            def decide(index: int) -> float:
                seat = seats[index]
                seat.wait_for("ws-status", f"Round {round_number} of {rounds}.", 60)
                seat.pump(lambda: seat.has("ws-send"), 60)
                amount = (index * 7 + round_number * 3) % 21  # 0 to 20 tokens, different for everyone
                seat.type_into("ws-number", str(amount))
                sent_at = time.perf_counter()
                seat.click("ws-send")
                seat.wait_for("ws-sent", "Sent", 60)
                sent[(round_number, names[index])] = float(amount)
                return sent_at

            with ThreadPoolExecutor(max_workers=len(seats)) as pool:
                last_sent = max(pool.map(decide, range(len(seats))))
            facilitator.wait_for("ws-fac-status", f"<b>{len(seats)} of {in_store}</b>", 60)
            latencies.append(time.perf_counter() - last_sent)
            facilitator.click("ws-fac-close")
            facilitator.wait_for("ws-fac-status", f"Round {round_number} of {rounds} is closed", 60)

        with Store(server.store_url) as store:
            stored = [((d["round"], d["display_name"]), d["value"]) for d in store.decisions(session_id)]
        kept = dict(stored)
        lost = sum(1 for key in sent if key not in kept)
        duplicated = len(stored) - len(kept)
        altered = sum(1 for key, value in kept.items() if sent.get(key) != value)

        participant_memory = [unique_set_size(pid) for pid in (kernel_pid(s.kernel_id) for s in seats) if pid]
        facilitator_memory = unique_set_size(kernel_pid(facilitator.kernel_id))
        for page in seats + [facilitator]:
            page.close(shut_down=False)

    mib = 1024 * 1024
    room = f"{participants} participants, {pool_size} warm kernels" + (
        f", {participants - len(seats)} could not join" if len(seats) < participants else "")
    return [
        row(f"workshop: join time, median ({room})", statistics.median(join_times), "s",
            join_window, "arrival window"),
        row(f"workshop: join time, 95th percentile ({room})", percentile(join_times, 0.95), "s",
            join_window, "arrival window", targets=[target("join p95", 5.0, percentile(join_times, 0.95))]),
        row(f"workshop: last decision to facilitator's screen, median of {rounds} round(s)",
            statistics.median(latencies), "s", 1.0, "one-second target"),
        row(f"workshop: last decision to facilitator's screen, worst of {rounds} round(s)", max(latencies), "s",
            1.0, "one-second target", targets=[target("worst delay", 1.0, max(latencies))]),
        row(f"workshop: decisions lost, duplicated or altered ({len(sent)} sent)",
            float(lost + duplicated + altered), "decisions", float(len(sent)), "decisions sent",
            targets=[target("lost", 0, float(lost + duplicated + altered), "decisions")]),
        row("workshop: memory of a participant's kernel (median unique set size)",
            statistics.median(participant_memory) / mib, "MiB", facilitator_memory / mib, "facilitator's kernel",
            targets=[target("unique memory", 40, statistics.median(participant_memory) / mib, "MiB")]),
        row("workshop: memory of the facilitator's kernel (unique set size)", facilitator_memory / mib, "MiB",
            statistics.median(participant_memory) / mib, "participant's kernel"),
    ]


MEASUREMENTS = [workshop_load]
