"""Tests of the workshop session store, each on a SQLite file and on PostgreSQL.

Participants' kernels are played by separate processes, forked from a forkserver that has
already imported the store, so that each starts in a few hundredths of a second.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import multiprocessing
import multiprocessing.forkserver
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import event, given, settings
from hypothesis import strategies as st
from postgres import postgres_url  # noqa: F401  (fixture)

from widgets.workshop import store as store_module
from widgets.workshop.store import (
    ALREADY_SENT,
    BAD_TOKEN,
    EXPIRED,
    FINISHED,
    FIRST_ROUND_NOT_OPEN,
    JOIN_CODE_ALPHABET,
    NAME_EMPTY,
    NAME_NOT_PRINTABLE,
    ONLY_FACILITATOR,
    ROUND_CLOSED,
    ROUND_NOT_OPEN_YET,
    UNKNOWN_CODE,
    Store,
    WorkshopError,
    decisions,
    participants,
    rounds,
    sessions,
)

KERNEL_TIMEOUT_SECONDS = 60


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A database of the test's own: a SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workshop.db'}"
        return
    base = sa.make_url(request.getfixturevalue("postgres_url"))
    schema = f"workshop_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def store(store_url):
    with Store(store_url) as opened:
        yield opened


def contribution(value):
    """Stands in for an exercise model's validate_decision: 0 to 20 tokens."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 20:
        raise ValueError(f"Contribution must be a number from 0 to 20; got {value!r}.")
    return float(value)


def snapshot(store, session_id):
    """Every row that belongs to a session, in a fixed order."""
    with store.engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    sa.select(table)
                    .where((table.c.id if table is sessions else table.c.session_id) == session_id)
                    .order_by(*table.primary_key.columns)
                )
            ]
            for table in (sessions, participants, rounds, decisions)
        }


def refused(message, action):
    """Run `action`, which must be refused with exactly `message`."""
    with pytest.raises(WorkshopError) as caught:
        action()
    assert str(caught.value) == message
    return caught.value


def running_session(store, n_participants, group_size=4, total_rounds=3):
    session_id, code, key = store.create_session("public goods", {"endowment": 20}, group_size, total_rounds)
    joined = [store.join(code, f"Player {i}") for i in range(n_participants)]
    store.form_groups(session_id, key)
    assert store.open_round(session_id, key) == 1
    return session_id, code, key, [pid for pid, _ in joined], [token for _, token in joined]


# --- kernels as separate processes ---


def _forkserver():
    """Processes forked from a server that has already imported this module and the store."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["widgets.workshop.store", __name__])
    # Python 3.11's forkserver ignores the parent's sys.path; without this folder on
    # PYTHONPATH while it starts, every kernel would import this module afresh (0.4 s each).
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(os.path.abspath(__file__)), saved]))
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return context


def _kernel(url, threads, start, outbox):
    """A kernel process with its own Store; each of its threads sends its list of decisions
    as soon as every kernel is ready."""
    with Store(url) as kernel_store:
        for jobs in threads:
            for _, token, _, _ in jobs:  # the participant's page loads its state first
                kernel_store.rejoin(token)
        go = threading.Event()

        def send(jobs):
            go.wait()
            for label, token, round_number, value in jobs:
                try:
                    kernel_store.submit(token, round_number, value, contribution)
                    outcome = "sent"
                except WorkshopError as error:
                    outcome = str(error)
                outbox.put((label, outcome, time.time()))

        senders = [threading.Thread(target=send, args=(jobs,)) for jobs in threads]
        for sender in senders:
            sender.start()
        start.wait(KERNEL_TIMEOUT_SECONDS)
        go.set()
        for sender in senders:
            sender.join(KERNEL_TIMEOUT_SECONDS)


def run_kernels(url, kernels, while_running=None):
    """Start one process per kernel (a list of threads, each a list of decisions to send),
    release them all at once and return (outcomes, seconds until the last one was stored).

    `while_running` (if given) runs in this process right after the release, as the
    facilitator's kernel would.
    """
    context = _forkserver()
    start = context.Barrier(len(kernels) + 1)
    outbox = context.Queue()
    processes = [context.Process(target=_kernel, args=(url, threads, start, outbox)) for threads in kernels]
    for process in processes:
        process.start()
    try:
        start.wait(KERNEL_TIMEOUT_SECONDS)
        released = time.time()
        if while_running is not None:
            while_running()
        expected = sum(len(jobs) for threads in kernels for jobs in threads)
        outcomes = [outbox.get(timeout=KERNEL_TIMEOUT_SECONDS) for _ in range(expected)]
        for process in processes:
            process.join(KERNEL_TIMEOUT_SECONDS)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    return outcomes, max(sent_at for _, _, sent_at in outcomes) - released


# --- the basics --------------------------------------------------------------------------


def test_session_codes_keys_and_tokens_are_random_and_stored_only_as_hashes(store):
    session_id, code, key = store.create_session("public goods", {"endowment": 20}, 4, 3)
    assert len(code) == 6 and set(code) <= set(JOIN_CODE_ALPHABET)
    assert not set("0O1I") & set(JOIN_CODE_ALPHABET)
    participant_id, token = store.join(code, "Ana")
    assert len(key) >= 32 and len(token) >= 32 and key != token
    stored = repr(snapshot(store, session_id))
    assert key not in stored and token not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    other_codes = {store.create_session("public goods", {}, 4, 3)[1] for _ in range(5)}
    assert code not in other_codes and len(other_codes) == 5


def test_a_whole_session_from_lobby_to_export(store):
    session_id, code, key = store.create_session("public goods", {"endowment": 20}, 4, 2, treatment="anonymous")
    ids = [store.join(code, name)[0] for name in ["Ana", "Ben", "Chloé", "Dev", "Eko", "Fay", "Gus", "Hana", "Ida", "Jo"]]
    assert [p["display_name"] for p in store.lobby(session_id)["participants"]][:3] == ["Ana", "Ben", "Chloé"]

    groups = store.form_groups(session_id, key)
    # 10 people in groups of 4, in join order: 4 + 4 + 2, and two simulated seats in group 3.
    assert [[m["participant_id"] for m in g["members"]] for g in groups] == [ids[0:4], ids[4:8], ids[8:10]]
    assert [g["simulated_seats"] for g in groups] == [[], [], [3, 4]]
    assert [m["seat"] for m in groups[2]["members"]] == [1, 2]

    other_id, _, _ = store.create_session("public goods", {}, 4, 2)  # a second session alongside
    assert store.lobby(other_id)["participants"] == []
    # Late arrivals take the empty seats of group 3 (seats 3 and 4).
    tokens = dict(store.join(code, name) for name in ["Kai", "Lin"])
    seats = {p["participant_id"]: (p["group"], p["seat"]) for p in store.lobby(session_id)["participants"]}
    assert sorted(seats[pid] for pid in tokens) == [(3, 3), (3, 4)]

    assert store.open_round(session_id, key) == 1
    kai, lin = sorted(tokens)
    store.submit(tokens[kai], 1, 5, contribution)
    store.submit(tokens[lin], 1, 12.5, contribution)
    status = store.round_status(session_id, 1)
    assert status["open"] and status["treatment"] == "anonymous"
    assert {s["participant_id"] for s in status["submitted"]} == {kai, lin}
    assert len(status["waiting"]) == 10

    closing = []

    def tally(round_decisions):
        closing.append(round_decisions)
        return {"total": sum(d["value"] for d in round_decisions)}

    assert store.close_round(session_id, key, tally) == 1
    assert [d["participant_id"] for d in closing[0]] == [kai, lin]
    assert store.results(session_id) == {1: {"total": 17.5}}  # 5 + 12.5
    refused(ROUND_CLOSED.format(round=1), lambda: store.submit(tokens[kai], 1, 3, contribution))

    store.set_treatment(session_id, key, "names shown")
    assert store.open_round(session_id, key) == 2
    store.submit(tokens[kai], 2, 20, contribution)
    assert store.close_round(session_id, key, {"total": 20}) == 2
    store.finish(session_id, key)
    store.finish(session_id, key)  # a second press changes nothing

    rows = store.export_rows(session_id)
    assert len(rows) == 12 * 2  # every participant, every round
    assert Counter(r["treatment"] for r in rows) == {"anonymous": 12, "names shown": 12}
    kai_rows = [r for r in rows if r["participant_id"] == kai]
    assert [(r["round"], r["decision"], r["group"], r["seat"]) for r in kai_rows] == [(1, 5.0, 3, 3), (2, 20.0, 3, 3)]
    assert all(r["session"] == code for r in rows)

    summary = store.summary(session_id)
    assert (summary["participants"], summary["groups"], summary["simulated_seats"]) == (12, 3, 0)
    assert summary["rounds_closed"] == 2 and summary["status"] == "finished"
    assert summary["per_round"][0]["decisions"] == 2
    assert summary["per_round"][0]["mean"] == pytest.approx((5 + 12.5) / 2)
    assert (summary["per_round"][0]["lowest"], summary["per_round"][0]["highest"]) == (5, 12.5)

    refused(FINISHED, lambda: store.check_code(code))
    refused(FINISHED, lambda: store.join(code, "Late Larry"))
    refused(FINISHED, lambda: store.submit(tokens[kai], 2, 1, contribution))
    assert store.rejoin(tokens[kai])["status"] == "finished"  # the final screen still loads


def test_late_joiners_fill_simulated_seats_then_open_a_new_group(store):
    session_id, code, key = store.create_session("public goods", {}, 3, 2)
    store.join(code, "A")
    store.form_groups(session_id, key)  # one group: seat 1 human, seats 2 and 3 simulated
    store.open_round(session_id, key)
    seats = [store.rejoin(store.join(code, name)[1]) for name in ["B", "C", "D"]]
    assert [(s["group"], s["seat"]) for s in seats] == [(1, 2), (1, 3), (2, 1)]
    assert seats[2]["simulated_seats"] == [2, 3]
    assert seats[1]["simulated_seats"] == []
    assert store.summary(session_id)["simulated_seats"] == 2
    # The export has a row for every round a participant could take part in, and no more.
    store.close_round(session_id, key, {})
    late = store.rejoin(store.join(code, "E")[1])
    assert (late["group"], late["seat"]) == (2, 2)
    store.open_round(session_id, key)
    rows = store.export_rows(session_id)
    assert sorted((r["display_name"], r["round"]) for r in rows if r["display_name"] in ("D", "E")) == [
        ("D", 1), ("D", 2), ("E", 2)
    ]
    assert len(rows) == 4 + 5  # A to D in round 1, A to E in round 2


def test_rounds_follow_each_other(store):
    session_id, code, key = store.create_session("public goods", {}, 2, 2)
    _, token = store.join(code, "Ana")
    refused("Form the groups before opening the first round.", lambda: store.open_round(session_id, key))
    refused(FIRST_ROUND_NOT_OPEN, lambda: store.submit(token, 1, 5, contribution))
    store.form_groups(session_id, key)
    refused("No round is open.", lambda: store.close_round(session_id, key, {}))
    store.open_round(session_id, key)
    refused("Round 1 is still open; close it first.", lambda: store.open_round(session_id, key))
    refused("Close round 1 before changing the treatment.", lambda: store.set_treatment(session_id, key, "x"))
    refused("Close round 1 before finishing the session.", lambda: store.finish(session_id, key))
    refused("The groups stay as they are once the first round has started.", lambda: store.form_groups(session_id, key))
    refused(ROUND_NOT_OPEN_YET.format(round=2), lambda: store.submit(token, 2, 5, contribution))
    store.close_round(session_id, key, {})
    store.open_round(session_id, key)
    store.close_round(session_id, key, {})
    refused("All 2 rounds have been played; finish the session.", lambda: store.open_round(session_id, key))


def test_refusals_say_what_is_wrong_and_change_nothing(store):
    session_id, code, key, ids, tokens = running_session(store, 3)
    store.submit(tokens[0], 1, 4, contribution)
    before = snapshot(store, session_id)
    cases = [
        (ALREADY_SENT.format(round=1), lambda: store.submit(tokens[0], 1, 5, contribution)),
        ("You have already sent your decision for round 1.", lambda: store.submit(tokens[0], 1, 4, contribution)),
        ("Contribution must be a number from 0 to 20; got 21.", lambda: store.submit(tokens[1], 1, 21, contribution)),
        ("Contribution must be a number from 0 to 20; got nan.", lambda: store.submit(tokens[1], 1, math.nan, contribution)),
        ("Contribution must be a number from 0 to 20; got True.", lambda: store.submit(tokens[1], 1, True, contribution)),
        ("Contribution must be a number from 0 to 20; got '5'.", lambda: store.submit(tokens[1], 1, "5", contribution)),
        (BAD_TOKEN, lambda: store.submit("guessed-token", 1, 5, contribution)),
        (BAD_TOKEN, lambda: store.submit("", 1, 5, contribution)),
        (BAD_TOKEN, lambda: store.submit(None, 1, 5, contribution)),
        (BAD_TOKEN, lambda: store.rejoin(tokens[1] + "x")),
        (ROUND_NOT_OPEN_YET.format(round=2), lambda: store.submit(tokens[1], 2, 5, contribution)),
        ("There is no round 0 in this session.", lambda: store.submit(tokens[1], 0, 5, contribution)),
        ("The round must be a whole number; got '1'.", lambda: store.submit(tokens[1], "1", 5, contribution)),
        ("There is no session with the code QQQQQQ. Please check the code on the screen.",
         lambda: store.join("QQQQQQ", "Zed")),
        ("There is no session with the code 0O1I. Please check the code on the screen.",
         lambda: store.join("0O1I", "Zed")),
        (NAME_EMPTY, lambda: store.join(code, "   ")),
        (NAME_EMPTY, lambda: store.join(code, None)),
        ("Please use a name of at most 30 characters; yours has 31.", lambda: store.join(code, "x" * 31)),
        (NAME_NOT_PRINTABLE, lambda: store.join(code, "Ana\x00")),
        ('Someone in this session is already called "player 1". Please add an initial or choose another name.',
         lambda: store.join(code, " player  1 ")),
        ("Group size must be a whole number from 1 to 60; got 0.",
         lambda: store.create_session("public goods", {}, 0, 3)),
        ("The number of rounds must be a whole number from 1 to 100; got 2.5.",
         lambda: store.create_session("public goods", {}, 4, 2.5)),
        ("There is no session number 999999.", lambda: store.lobby(999999)),
    ]
    for message, action in cases:
        refused(message, action)
    assert snapshot(store, session_id) == before
    # Two sessions can use the same name; within one, case and spacing do not make a new name.
    other_id, other_code, _ = store.create_session("public goods", {}, 4, 3)
    store.join(other_code, "Player 1")
    assert len(store.lobby(other_id)["participants"]) == 1
    assert store.join(code, "y" * 30)[0] > 0


def test_only_the_facilitator_key_works(store):
    session_id, code, key, ids, tokens = running_session(store, 2)
    other_id, _, other_key = store.create_session("public goods", {}, 4, 3)
    before = snapshot(store, session_id)
    for wrong in ["", None, key[:-1], other_key, tokens[0], key.upper()]:
        refused(ONLY_FACILITATOR, lambda: store.close_round(session_id, wrong, {}))
        refused(ONLY_FACILITATOR, lambda: store.open_round(session_id, wrong))
        refused(ONLY_FACILITATOR, lambda: store.form_groups(session_id, wrong))
        refused(ONLY_FACILITATOR, lambda: store.set_treatment(session_id, wrong, "x"))
        refused(ONLY_FACILITATOR, lambda: store.finish(session_id, wrong))
        refused(ONLY_FACILITATOR, lambda: store.export_csv(session_id, wrong))
    assert snapshot(store, session_id) == before
    store.close_round(session_id, key, {})  # the right key still works


def test_a_token_acts_only_for_its_own_participant(store):
    session_id, code, key, ids, tokens = running_session(store, 2)
    other_id, other_code, other_key = store.create_session("public goods", {}, 2, 3)
    stranger_id, stranger_token = store.join(other_code, "Stranger")
    store.form_groups(other_id, other_key)
    store.open_round(other_id, other_key)
    store.submit(tokens[1], 1, 9, contribution)
    store.submit(stranger_token, 1, 2, contribution)
    assert [(d["participant_id"], d["value"]) for d in store.decisions(session_id)] == [(ids[1], 9.0)]
    assert [(d["participant_id"], d["value"]) for d in store.decisions(other_id)] == [(stranger_id, 2.0)]
    assert store.rejoin(tokens[0])["decisions"] == {}
    assert store.rejoin(tokens[1])["decisions"] == {1: 9.0}
    assert store.rejoin(stranger_token)["session_id"] == other_id


def test_decisions_come_back_exactly_as_the_model_cleaned_them(store):
    import numpy as np

    session_id, code, key, ids, tokens = running_session(store, 4, group_size=4)
    choices = [5.0, np.float64(2.5), 7, np.int64(3)]
    for token, choice in zip(tokens, choices):
        store.submit(token, 1, choice, lambda value: value)
    stored = [d["value"] for d in store.decisions(session_id, 1)]
    assert stored == [5.0, 2.5, 7, 3]
    # JSON keeps 5.0 a float and 7 an int: the SQLite column is text, not numeric.
    assert [type(v) for v in stored] == [float, float, int, int]
    # A value the cleaner lets through must still be plain JSON.
    store.close_round(session_id, key, {})
    store.open_round(session_id, key)
    refused("A decision must be made of numbers, text, true/false, null, lists and dictionaries "
            "(no NaN or infinity); got nan.",
            lambda: store.submit(tokens[0], 2, math.nan, lambda value: value))
    refused("Round results must be made of numbers, text, true/false, null, lists and dictionaries "
            "(no NaN or infinity); got {'mean': nan}.",
            lambda: store.close_round(session_id, key, {"mean": math.nan}))
    store.submit(tokens[0], 2, {"give": [1, 2], "note": "ok"}, lambda value: value)
    assert store.decisions(session_id, 2)[0]["value"] == {"give": [1, 2], "note": "ok"}


def test_the_database_itself_refuses_a_second_decision(store):
    # The last line of defence, should a refusal ever be missed in code.
    session_id, code, key, ids, tokens = running_session(store, 1)
    store.submit(tokens[0], 1, 4, contribution)
    row = {"session_id": session_id, "round_number": 1, "participant_id": ids[0], "value": 5,
           "submitted_at": store_module._now()}
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(decisions.insert().values(row))
    other_id, _, _ = store.create_session("public goods", {}, 4, 3)  # nor may one land in another session
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(decisions.insert().values({**row, "session_id": other_id}))
    assert [d["value"] for d in store.decisions(session_id)] == [4.0]


def test_a_failing_results_function_leaves_the_round_open(store):
    session_id, code, key, ids, tokens = running_session(store, 2)
    store.submit(tokens[0], 1, 4, contribution)
    before = snapshot(store, session_id)

    def broken(round_decisions):
        raise ZeroDivisionError("model bug")

    with pytest.raises(ZeroDivisionError):
        store.close_round(session_id, key, broken)
    refused("Round results must be a dictionary; got list.", lambda: store.close_round(session_id, key, [1]))
    assert snapshot(store, session_id) == before
    store.submit(tokens[1], 1, 6, contribution)  # the round still takes decisions
    assert store.close_round(session_id, key, lambda ds: {"count": len(ds)}) == 1
    assert store.results(session_id) == {1: {"count": 2}}


def test_an_expired_session_takes_nobody_in(store):
    session_id, code, key, ids, tokens = running_session(store, 2)
    with store.engine.begin() as conn:
        conn.execute(
            sessions.update().where(sessions.c.id == session_id).values(
                expires_at=store_module._now() - timedelta(minutes=1)
            )
        )
    before = snapshot(store, session_id)
    refused(EXPIRED, lambda: store.check_code(code))
    refused(EXPIRED, lambda: store.join(code, "Late"))
    refused(EXPIRED, lambda: store.submit(tokens[0], 1, 5, contribution))
    refused(EXPIRED, lambda: store.rejoin(tokens[0]))
    assert snapshot(store, session_id) == before
    assert len(store.export_csv(session_id, key).splitlines()) == 3  # the data can still be exported


def test_join_codes_are_forgiving_about_case_and_spaces(store):
    session_id, code, key = store.create_session("public goods", {}, 4, 3)
    spaced = f" {code[:3].lower()} {code[3:].lower()} "
    store.check_code(spaced)  # a code that lets people in: no complaint, and nothing written
    assert store.lobby(session_id)["participants"] == []
    unknown = "".join("A" if ch != "A" else "B" for ch in code)
    refused(UNKNOWN_CODE.format(code=unknown), lambda: store.check_code(unknown.lower()))
    store.join(spaced, "Ana")
    store.join(f"{code[:3]}-{code[3:]}", "Ben")
    assert len(store.lobby(session_id)["participants"]) == 2


def test_export_csv_opens_cleanly_in_excel(store):
    session_id, code, key = store.create_session("public goods", {}, 2, 2, treatment="baseline")
    ids_tokens = [store.join(code, name) for name in ["Chloé Ndiaye", "=HYPERLINK(\"x\")"]]
    store.form_groups(session_id, key)
    store.open_round(session_id, key)
    store.submit(ids_tokens[0][1], 1, 12.5, contribution)
    text = store.export_csv(session_id, key)
    assert text.startswith("\ufeff")
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["session", "round", "treatment", "group", "seat", "participant_id", "participant",
                       "decision", "submitted_at_utc"]
    assert rows[1][:5] == [code, "1", "baseline", "1", "1"]
    assert rows[1][6:8] == ["Chloé Ndiaye", "12.5"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", rows[1][8])
    # A name that Excel would run as a formula is written as text.
    assert rows[2][6] == "'=HYPERLINK(\"x\")" and rows[2][7:] == ["", ""]
    assert len(rows) == 3


def test_sqlite_uses_wal_a_busy_timeout_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'folder' / 'workshop.db'}"
    with Store(url) as fresh:
        with fresh.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with pytest.raises(sa.exc.IntegrityError):  # a decision for a round that does not exist
                conn.execute(decisions.insert().values(session_id=1, round_number=1, participant_id=1,
                                                       value=1, submitted_at=store_module._now()))
    # Opening the same file again keeps what is there.
    with Store(url) as first:
        session_id, code, key = first.create_session("public goods", {}, 4, 3)
    with Store(url) as second:
        assert second.lobby(session_id)["join_code"] == code


def test_the_store_module_imports_no_pandas_or_matplotlib():
    code = (
        "import sys, widgets.workshop.store; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- many kernels at once ----------------------------------------------------------------


def test_48_kernels_sending_at_once_lose_and_duplicate_nothing(store, store_url):
    session_id, code, key, ids, tokens = running_session(store, 48, group_size=4)
    # One process per participant, as Voilà gives every page a kernel of its own.
    jobs = [[(pid, token, 1, pid % 21)] for pid, token in zip(ids, tokens)]
    outcomes, seconds = run_kernels(store_url, [[job] for job in jobs])
    # Shown with `pytest -s`: how fast the store took in the burst on this machine.
    print(f"\n{store.engine.dialect.name}: 48 decisions stored in {seconds:.2f} s ({len(jobs) / seconds:.0f} per second)")
    assert sorted(label for label, outcome, _ in outcomes if outcome == "sent") == sorted(ids)
    stored = store.decisions(session_id, 1)
    assert sorted((d["participant_id"], d["value"]) for d in stored) == sorted((pid, float(pid % 21)) for pid in ids)
    assert store.round_status(session_id, 1)["waiting"] == []


def test_a_duplicate_racing_the_first_leaves_one_decision(store, store_url):
    # Six kernels (think: one phone with the participant's link open in six tabs) send for
    # the same six participants at the same moment, each with its own value.
    session_id, code, key, ids, tokens = running_session(store, 6, group_size=3)
    kernels = [[[((kernel, pid), token, 1, kernel) for pid, token in zip(ids, tokens)]] for kernel in range(6)]
    outcomes, _ = run_kernels(store_url, kernels)
    winners = {}
    for (kernel, pid), outcome, _ in outcomes:
        if outcome == "sent":
            assert pid not in winners
            winners[pid] = kernel
        else:
            assert outcome == ALREADY_SENT.format(round=1)
    assert sorted(winners) == sorted(ids)
    stored = store.decisions(session_id, 1)
    assert sorted((d["participant_id"], d["value"]) for d in stored) == sorted(
        (pid, float(kernel)) for pid, kernel in winners.items()
    )


def test_closing_while_decisions_arrive_counts_exactly_the_stored_ones(store, store_url):
    session_id, code, key, ids, tokens = running_session(store, 24, group_size=4)
    jobs = [[(pid, token, 1, 10)] for pid, token in zip(ids, tokens)]

    def close_now():  # the facilitator presses "close" while the phones are still sending
        time.sleep(0.01)
        store.close_round(session_id, key, lambda ds: {"participants": [d["participant_id"] for d in ds]})

    outcomes, _ = run_kernels(store_url, [jobs[k::4] for k in range(4)], while_running=close_now)
    sent = sorted(pid for pid, outcome, _ in outcomes if outcome == "sent")
    assert all(outcome in ("sent", ROUND_CLOSED.format(round=1)) for _, outcome, _ in outcomes)
    assert sorted(d["participant_id"] for d in store.decisions(session_id, 1)) == sent
    assert sorted(store.results(session_id)[1]["participants"]) == sent


def _kernel_killed_mid_round(url, tokens, outbox):
    """Sends decisions for all but the last token, then is killed while sending the last."""
    kernel_store = Store(url)
    for token in tokens[:-1]:
        kernel_store.submit(token, 1, 7, contribution)
        outbox.put(("committed", token))

    def stuck(value):  # runs inside the submission's transaction, holding the write lock
        outbox.put(("inside the transaction", tokens[-1]))
        time.sleep(KERNEL_TIMEOUT_SECONDS)
        return value

    kernel_store.submit(tokens[-1], 1, 99, stuck)


def test_a_kernel_killed_mid_round_loses_nothing_it_committed(store_url):
    with Store(store_url) as facilitator:
        session_id, code, key, ids, tokens = running_session(facilitator, 8, group_size=4)
        seats_before = {p["participant_id"]: (p["group"], p["seat"]) for p in facilitator.lobby(session_id)["participants"]}

    context = _forkserver()
    outbox = context.Queue()
    kernel = context.Process(target=_kernel_killed_mid_round, args=(store_url, tokens[:6], outbox))
    kernel.start()
    try:
        messages = [outbox.get(timeout=KERNEL_TIMEOUT_SECONDS) for _ in range(6)]
        assert messages == [("committed", token) for token in tokens[:5]] + [("inside the transaction", tokens[5])]
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.join(KERNEL_TIMEOUT_SECONDS)
        assert kernel.exitcode == -signal.SIGKILL
    finally:
        if kernel.is_alive():
            kernel.kill()

    with Store(store_url) as restarted:  # as after a server restart
        if restarted.engine.dialect.name == "sqlite":
            with restarted.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert sorted(d["participant_id"] for d in restarted.decisions(session_id, 1)) == ids[:5]
        for pid, token in zip(ids, tokens):
            state = restarted.rejoin(token)
            assert (state["participant_id"], (state["group"], state["seat"])) == (pid, seats_before[pid])
            assert state["round_open"] and state["current_round"] == 1
            assert state["submitted_this_round"] == (pid in ids[:5])
        # The killed kernel's locks are gone: the rest send at once (the one it was sending
        # for, too), and the round closes.
        began = time.monotonic()
        for token in tokens[5:]:
            restarted.submit(token, 1, 3, contribution)
        assert time.monotonic() - began < 5
        refused(ALREADY_SENT.format(round=1), lambda: restarted.submit(tokens[0], 1, 3, contribution))
        restarted.close_round(session_id, key, lambda ds: {"sum": sum(d["value"] for d in ds)})
        assert restarted.results(session_id) == {1: {"sum": 5 * 7 + 3 * 3}}  # five sent 7, three sent 3


# --- any sequence of requests -------------------------------------------------------------

NAMES = ["Ana", "ana", " Ana ", "Ben", "", "   ", "Chloé", "x" * 31, "y" * 30, "Dev\x07"]
VALUES = st.one_of(
    st.integers(-3, 23), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), st.text(max_size=2)
)
MOSTLY_RIGHT = st.sampled_from([True, True, True, False])  # the right code or key, usually
STEP_KINDS = {
    "join": st.tuples(st.just("join"), MOSTLY_RIGHT, st.sampled_from(NAMES) | st.text("abcdefABCDEF", min_size=1, max_size=4)),
    # (token known, whose, round offset from the current round, value)
    "submit": st.tuples(st.just("submit"), MOSTLY_RIGHT, st.integers(0, 9), st.sampled_from([0, 0, 0, -1, 1]), VALUES),
    "valid submit": st.tuples(st.just("submit"), st.just(True), st.integers(0, 9), st.just(0), st.integers(0, 20)),
    "form": st.tuples(st.just("form"), MOSTLY_RIGHT),
    "open": st.tuples(st.just("open"), MOSTLY_RIGHT),
    "close": st.tuples(st.just("close"), MOSTLY_RIGHT),
    "finish": st.tuples(st.just("finish"), MOSTLY_RIGHT),
}
# Weights by repetition: mostly decisions and joins, with facilitator steps in between.
STEPS = st.sampled_from(
    ["valid submit"] * 6 + ["join"] * 4 + ["submit"] * 3 + ["open"] + ["close"] + ["form"]
).flatmap(STEP_KINDS.__getitem__)
# A session's usual course (joins, groups, rounds, finish), each facilitator step usually
# with the right key, and any requests at all in between, so that most examples get as
# far as rounds with decisions instead of ending in the lobby.
SESSIONS = st.tuples(
    st.lists(STEP_KINDS["join"] | STEPS, min_size=2, max_size=8),
    STEP_KINDS["form"],
    st.lists(st.tuples(STEP_KINDS["open"], st.lists(STEPS, max_size=8), STEP_KINDS["close"]), min_size=1, max_size=3),
    st.lists(STEP_KINDS["finish"] | STEPS, max_size=4),
).map(lambda parts: [*parts[0], parts[1], *(s for o, mid, c in parts[2] for s in (o, *mid, c)), *parts[3]])


def _valid_contribution(value):
    try:
        contribution(value)
        return True
    except ValueError:
        return False


def test_any_sequence_of_requests_keeps_the_store_consistent(store):
    # PostgreSQL answers more slowly over its socket, so it plays fewer sequences.
    examples = 50 if store.engine.dialect.name == "sqlite" else 20

    @settings(max_examples=examples, deadline=None)
    @given(steps=SESSIONS)
    def any_session(steps):
        play_and_check(store, steps)

    any_session()


def play_and_check(store, steps):
    """Run the requests one by one against a model of what the store should accept."""
    # The same store serves every example; each example is a session of its own.
    session_id, code, key = store.create_session("public goods", {}, 2, 3)
    model = {"status": "lobby", "formed": False, "round": 0, "open": False, "names": set(), "decided": set()}
    people = []  # [participant id, token, seated]

    for step in steps:
        before = snapshot(store, session_id)
        kind, *args = step
        if kind == "join":
            right_code, name = args
            shown = " ".join(name.split())
            expect = (right_code and model["status"] != "finished" and 0 < len(shown) <= 30
                      and shown.isprintable() and shown.casefold() not in model["names"])
            action = lambda: store.join(code if right_code else "0O1I00", name)  # noqa: E731
        elif kind == "submit":
            token_known, whose, offset, value = args
            known = token_known and bool(people)
            who = whose % len(people) if known else None
            token = people[who][1] if known else "no-such-token"
            round_number = model["round"] + offset
            expect = (known and model["status"] != "finished" and model["open"] and offset == 0 and people[who][2]
                      and (people[who][0], round_number) not in model["decided"] and _valid_contribution(value))
            action = lambda: store.submit(token, round_number, value, contribution)  # noqa: E731
        else:
            right_key = args[0]
            used_key = key if right_key else key[::-1]
            if kind == "form":
                expect = right_key and model["status"] == "lobby" and bool(people)
                action = lambda: store.form_groups(session_id, used_key)  # noqa: E731
            elif kind == "open":
                expect = (right_key and model["status"] != "finished" and model["formed"] and not model["open"]
                          and model["round"] < 3)
                action = lambda: store.open_round(session_id, used_key)  # noqa: E731
            elif kind == "close":
                expect = right_key and model["open"]
                sent = sum(1 for _, r in model["decided"] if r == model["round"])
                action = lambda: store.close_round(session_id, used_key, lambda ds: {"count": len(ds)})  # noqa: E731
            else:
                expect = right_key and not model["open"]
                action = lambda: store.finish(session_id, used_key)  # noqa: E731

        event(f"{kind} {'accepted' if expect else 'refused'}")
        try:
            outcome = action()
        except WorkshopError:
            assert not expect, step
            assert snapshot(store, session_id) == before, step
            continue
        assert expect, step

        if kind == "join":
            people.append([outcome[0], outcome[1], model["formed"]])
            model["names"].add(" ".join(args[1].split()).casefold())
        elif kind == "submit":
            model["decided"].add((people[who][0], model["round"]))
        elif kind == "form":
            model["formed"] = True
            for person in people:
                person[2] = True
        elif kind == "open":
            model["round"], model["open"], model["status"] = outcome, True, "running"
        elif kind == "close":
            model["open"] = False
            assert store.results(session_id)[model["round"]] == {"count": sent}
        else:
            model["status"] = "finished"

        if kind == "submit":
            event(f"decision stored in round {model['round']}")
        stored = [(d["participant_id"], d["round"]) for d in store.decisions(session_id)]
        assert len(stored) == len(set(stored))  # at most one decision per participant and round
        assert set(stored) == model["decided"]
        assert all(r <= model["round"] for _, r in stored)
