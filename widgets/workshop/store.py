"""The shared session store for live workshops.

Every Voilà page runs in its own kernel, so the facilitator's kernel and the participants'
kernels meet only here. The store knows nothing about any exercise: a decision is a JSON
value that the exercise model has validated, and round results are a JSON object that
the facilitator's kernel computed with the model.

- SQLAlchemy Core over a SQLite file by default (WAL journal, busy timeout, foreign keys,
  write transactions taken with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
  failing, and a ``<file>-writers`` lock file beside the database that lets them queue
  quickly); the same code runs on PostgreSQL given a ``postgresql+psycopg://`` URL.
  All kernels must open the same file: give an absolute path when their working folders
  differ (the default URL is relative).
- Every change is one committed transaction, so killing a kernel or the whole server
  loses nothing that was acknowledged.
- The facilitator proves who they are with the key returned by ``create_session``;
  a participant with the token returned by ``join``. Only hashes of both are stored.
- A refused request raises ``WorkshopError`` (a ``ValueError``) whose message can be shown
  to the person as it is, and leaves the store unchanged.

Kept lean on purpose (no pandas, no matplotlib): the participant app imports this module
on a phone's join path.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import numbers
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy timeout alone orders the writers
    fcntl = None

DEFAULT_URL = "sqlite:///workshop-data/workshop.db"

JOIN_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to mix up
JOIN_CODE_LENGTH = 6
NAME_MAX_LENGTH = 30
LABEL_MAX_LENGTH = 100  # exercise name and treatment label
MAX_GROUP_SIZE = 60
MAX_ROUNDS = 100
MAX_TTL_HOURS = 14 * 24
BUSY_TIMEOUT_SECONDS = 10
# A participant's page polls its state every few seconds; writing `last_seen` on every
# poll would make 60 phones queue for SQLite's single writer for nothing.
LAST_SEEN_EVERY_SECONDS = 10

STATUSES = ("lobby", "running", "finished")

ONLY_FACILITATOR = "Only the facilitator can do that."
BAD_TOKEN = "This link does not belong to any participant. Please join again with the code on the screen."
UNKNOWN_CODE = "There is no session with the code {code}. Please check the code on the screen."
EXPIRED = "This session has expired. Please ask the facilitator for a new code."
FINISHED = "This session has finished, so nothing more can be sent."
NAME_EMPTY = "Please type a name that the others will see."
NAME_TOO_LONG = "Please use a name of at most {limit} characters; yours has {length}."
NAME_NOT_PRINTABLE = "Please use only letters, digits, spaces and punctuation in your name."
NAME_TAKEN = 'Someone in this session is already called "{name}". Please add an initial or choose another name.'
ALREADY_SENT = "You have already sent your decision for round {round}."
FIRST_ROUND_NOT_OPEN = "The first round has not started yet. Please wait for the facilitator."
ROUND_NOT_OPEN_YET = "Round {round} has not started yet. Please wait for the facilitator."
ROUND_CLOSED = "Round {round} is closed, so your decision was not recorded."
NO_SUCH_ROUND = "There is no round {round} in this session."
NO_SEAT = "You do not have a seat in a group yet. Please wait for the facilitator."
BUSY = "The server is busy right now. Please try again in a moment."


class WorkshopError(ValueError):
    """A refused request; the message is written for the screen of whoever asked."""


# --- tables -----------------------------------------------------------------------------


class UTCDateTime(sa.types.TypeDecorator):
    """A moment in time, stored as naive UTC (SQLite has no time zones) and read back aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class _JSONText(sa.types.TypeDecorator):
    """JSON kept as text in SQLite: a column declared JSON there has numeric affinity, which
    would turn the text 5.0 into the integer 5 and round very large integers."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, none_as_null: bool = False):
        super().__init__()
        self.none_as_null = none_as_null

    def process_bind_param(self, value, dialect):
        return None if value is None and self.none_as_null else json.dumps(value, allow_nan=False)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


def _json_column_type(none_as_null: bool = False) -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=none_as_null).with_variant(_JSONText(none_as_null), "sqlite")


metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)

# Table names carry a prefix so the store can share a PostgreSQL database with other apps.
sessions = sa.Table(
    "workshop_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("join_code", sa.String(JOIN_CODE_LENGTH), nullable=False, unique=True),
    sa.Column("exercise", sa.String(LABEL_MAX_LENGTH), nullable=False),
    sa.Column("params", _json_column_type(), nullable=False),
    sa.Column("group_size", sa.Integer, nullable=False),
    sa.Column("rounds", sa.Integer, nullable=False),
    sa.Column("treatment", sa.String(LABEL_MAX_LENGTH)),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("current_round", sa.Integer, nullable=False),
    sa.Column("groups_formed", sa.Boolean, nullable=False),
    sa.Column("facilitator_key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
    sa.CheckConstraint(f"group_size BETWEEN 1 AND {MAX_GROUP_SIZE}", name="group_size"),
    sa.CheckConstraint("current_round BETWEEN 0 AND rounds", name="current_round"),
)

participants = sa.Table(
    "workshop_participants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.ForeignKey(sessions.c.id, ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(NAME_MAX_LENGTH), nullable=False),
    # Case-folded name: "Ana" and "ANA " may not both join one session.
    sa.Column("name_key", sa.String(4 * NAME_MAX_LENGTH), nullable=False),
    sa.Column("group_number", sa.Integer),
    sa.Column("seat", sa.Integer),
    sa.Column("joined_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.UniqueConstraint("session_id", "name_key"),
    sa.UniqueConstraint("session_id", "group_number", "seat"),
    sa.UniqueConstraint("id", "session_id"),  # target of the decisions' composite key
)

rounds = sa.Table(
    "workshop_rounds",
    metadata,
    sa.Column("session_id", sa.ForeignKey(sessions.c.id, ondelete="CASCADE"), primary_key=True),
    sa.Column("round_number", sa.Integer, primary_key=True),
    sa.Column("treatment", sa.String(LABEL_MAX_LENGTH)),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("results", _json_column_type(none_as_null=True)),
)

decisions = sa.Table(
    "workshop_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, nullable=False),
    sa.Column("round_number", sa.Integer, nullable=False),
    sa.Column("participant_id", sa.Integer, nullable=False),
    sa.Column("value", _json_column_type(), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("session_id", "round_number", "participant_id"),
    sa.ForeignKeyConstraint(
        ["session_id", "round_number"], [rounds.c.session_id, rounds.c.round_number], ondelete="CASCADE"
    ),
    # A decision can only belong to a participant of the same session.
    sa.ForeignKeyConstraint(
        ["participant_id", "session_id"], [participants.c.id, participants.c.session_id], ondelete="CASCADE"
    ),
)


# --- small helpers ----------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _whole_number(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise WorkshopError(f"{what} must be a whole number from {low} to {high}; got {value!r}.")
    return int(value)


def _label(value: Any, what: str, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > LABEL_MAX_LENGTH:
        raise WorkshopError(
            f"{what} must be text of 1 to {LABEL_MAX_LENGTH} characters{' (or None)' if optional else ''}; "
            f"got {value!r}."
        )
    return value.strip()


def _plain_scalar(value: Any) -> Any:
    # numpy scalars and arrays from an exercise model become plain numbers and lists.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not a JSON type")


def _plain_json(value: Any, what: str) -> Any:
    """`value` exactly as it will read back from the database (tuples become lists)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_plain_scalar))
    except (TypeError, ValueError):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise WorkshopError(
            f"{what} must be made of numbers, text, true/false, null, lists and dictionaries "
            f"(no NaN or infinity); got {shown}."
        ) from None


def _clean_name(display_name: Any) -> tuple[str, str]:
    """The name as shown, and the key that must be unique within a session."""
    if not isinstance(display_name, str):
        raise WorkshopError(NAME_EMPTY)
    name = " ".join(unicodedata.normalize("NFC", display_name).split())
    if not name:
        raise WorkshopError(NAME_EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise WorkshopError(NAME_TOO_LONG.format(limit=NAME_MAX_LENGTH, length=len(name)))
    if not name.isprintable():
        raise WorkshopError(NAME_NOT_PRINTABLE)
    return name, unicodedata.normalize("NFC", name.casefold())


def _clean_join_code(join_code: Any) -> str:
    text = join_code if isinstance(join_code, str) else ""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != JOIN_CODE_LENGTH or any(ch not in JOIN_CODE_ALPHABET for ch in code):
        shown = text.strip()[:20] or "you typed"
        raise WorkshopError(UNKNOWN_CODE.format(code=shown))
    return code


def _new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def _groups_from_seats(seated: list[dict], group_size: int) -> list[dict]:
    """Groups in order, each with its members by seat and the seats left for simulated members."""
    by_group: dict[int, list[dict]] = {}
    for member in seated:
        by_group.setdefault(member["group"], []).append(member)
    groups = []
    for number in sorted(by_group):
        members = sorted(by_group[number], key=lambda m: m["seat"])
        taken = {m["seat"] for m in members}
        groups.append(
            {
                "group": number,
                "members": [
                    {"participant_id": m["participant_id"], "display_name": m["display_name"], "seat": m["seat"]}
                    for m in members
                ],
                "simulated_seats": [seat for seat in range(1, group_size + 1) if seat not in taken],
            }
        )
    return groups


def _free_seat(seated: list[dict], group_size: int) -> tuple[int, int]:
    """The first empty seat (a simulated member's until now), or seat 1 of a new group."""
    taken = {(m["group"], m["seat"]) for m in seated}
    last_group = max((m["group"] for m in seated), default=0)
    for group in range(1, last_group + 1):
        for seat in range(1, group_size + 1):
            if (group, seat) not in taken:
                return group, seat
    return last_group + 1, 1


def _csv_text(value: str) -> str:
    # Excel runs a cell that starts with = + - @ as a formula; a typed name must stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_decision(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return json.dumps(value, ensure_ascii=False)
    return _csv_text(value) if isinstance(value, str) else repr(value)


def _csv_time(moment: datetime | None) -> str:
    # ISO 8601 date and time in UTC with a space, which Excel reads as a date-time.
    return "" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# --- the engine -------------------------------------------------------------------------


def _make_engine(url: str | sa.URL) -> sa.Engine:
    url = sa.make_url(url)
    if url.get_backend_name() != "sqlite":
        # A kernel is single-threaded: two connections are plenty, and 60 kernels stay
        # well under PostgreSQL's default 100 connections.
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)

    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # the "begin" hook below emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL keeps every commit through a crash of the process or the server
        # (only a power cut may lose the last moments), and with 48 writers at once it is
        # about a hundred times faster here than FULL, which syncs the disk on every commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A writer takes the write lock at BEGIN and so waits its turn (busy timeout); a
        # deferred transaction that reads first could fail at once when it tries to write.
        immediate = connection.get_execution_options().get("workshop_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# --- the store --------------------------------------------------------------------------


class Store:
    """Sessions, participants, rounds and decisions of live workshops, in one database.

    ``Store(url)`` creates the tables if they are missing. Each kernel makes its own Store
    on the same URL; they share nothing but the database.
    """

    def __init__(self, url: str | sa.URL = DEFAULT_URL):
        self.engine = _make_engine(url)
        self._writers_lock = None
        self._writers_in_process = threading.Lock()
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and fcntl and database and database != ":memory:" \
                and not database.startswith("file:"):
            self._writers_lock = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o660)
        self._postgresql = self.engine.dialect.name == "postgresql"
        with self._transaction(write=False) as conn:
            present = set(sa.inspect(conn).get_table_names())
        if present >= set(metadata.tables):
            return  # the usual case: dozens of kernels open the store without taking the write lock
        with self._transaction(write=True) as conn:
            if self._postgresql:  # kernels starting together must not create tables twice
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4711202406)"))
            metadata.create_all(conn, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()
        if self._writers_lock is not None:
            os.close(self._writers_lock)
            self._writers_lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        try:
            with self._writers_turn(write), self.engine.connect() as conn:
                conn = conn.execution_options(workshop_write=write)
                with conn.begin():
                    yield conn
        except sa.exc.OperationalError as error:
            if "database is locked" in str(error):
                raise WorkshopError(BUSY) from error
            raise

    @contextmanager
    def _writers_turn(self, write: bool) -> Iterator[None]:
        """On a SQLite file, writers from all kernels queue on a lock file beside it.

        SQLite's busy handler makes a waiting writer sleep up to 100 ms between tries, so
        with dozens of phones sending at once the database stood idle most of the time;
        a writer waiting on the lock file tries again every millisecond.
        The operating system drops the lock of a killed process, so nothing stays stuck.
        """
        if not write or self._writers_lock is None:
            yield
            return
        # flock() does not order threads that share the file, so they queue here first.
        if not self._writers_in_process.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise WorkshopError(BUSY)
        try:
            # Try every millisecond rather than block, so that a kernel stuck while writing
            # makes the others give up after the busy timeout instead of waiting for ever.
            deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
            while True:
                try:
                    fcntl.flock(self._writers_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WorkshopError(BUSY) from None
                    time.sleep(0.001)
            try:
                yield
            finally:
                fcntl.flock(self._writers_lock, fcntl.LOCK_UN)
        finally:
            self._writers_in_process.release()

    # --- lookups inside a transaction ---

    def _session(self, conn, session_id: Any, *, lock: bool = False):
        number = session_id if isinstance(session_id, numbers.Integral) and not isinstance(session_id, bool) else None
        query = sa.select(sessions).where(sessions.c.id == number)
        if lock:  # NO KEY UPDATE: serialises facilitator actions, lets decisions reference the row
            query = query.with_for_update(key_share=True)
        row = conn.execute(query).one_or_none() if number is not None else None
        if row is None:
            raise WorkshopError(f"There is no session number {session_id!r}.")
        return row

    def _facilitator_session(self, conn, session_id: Any, key: Any, *, lock: bool = True):
        session = self._session(conn, session_id, lock=lock)
        if not isinstance(key, str) or not hmac.compare_digest(_digest(key), session.facilitator_key_hash):
            raise WorkshopError(ONLY_FACILITATOR)
        return session

    def _participant(self, conn, token: Any, *, lock: bool = False):
        if not isinstance(token, str) or not token:
            raise WorkshopError(BAD_TOKEN)
        query = sa.select(participants).where(participants.c.token_hash == _digest(token))
        if lock:  # one participant's submissions queue behind each other
            query = query.with_for_update(key_share=True)
        row = conn.execute(query).one_or_none()
        if row is None:
            raise WorkshopError(BAD_TOKEN)
        return row

    def _round(self, conn, session_id: int, round_number: int, *, share_lock: bool = False):
        query = sa.select(rounds).where(rounds.c.session_id == session_id, rounds.c.round_number == round_number)
        if share_lock:  # closing the round waits until submissions in flight commit
            query = query.with_for_update(read=True)
        return conn.execute(query).one_or_none()

    def _open_round(self, conn, session) -> int | None:
        if session.current_round == 0:
            return None
        row = self._round(conn, session.id, session.current_round)
        return session.current_round if row.closed_at is None else None

    def _seated(self, conn, session_id: int) -> list[dict]:
        query = (
            sa.select(participants.c.id, participants.c.display_name, participants.c.group_number, participants.c.seat)
            .where(participants.c.session_id == session_id, participants.c.group_number.is_not(None))
            .order_by(participants.c.group_number, participants.c.seat)
        )
        return [
            {"participant_id": r.id, "display_name": r.display_name, "group": r.group_number, "seat": r.seat}
            for r in conn.execute(query)
        ]

    def _decision_rows(self, conn, session_id: int, round_number: int | None = None) -> list[dict]:
        query = (
            sa.select(decisions, participants.c.display_name, participants.c.group_number, participants.c.seat)
            .join(participants, participants.c.id == decisions.c.participant_id)
            .where(decisions.c.session_id == session_id)
            .order_by(decisions.c.round_number, participants.c.group_number, participants.c.seat, decisions.c.id)
        )
        if round_number is not None:
            query = query.where(decisions.c.round_number == round_number)
        return [
            {
                "round": r.round_number,
                "participant_id": r.participant_id,
                "display_name": r.display_name,
                "group": r.group_number,
                "seat": r.seat,
                "value": r.value,
                "submitted_at": r.submitted_at,
            }
            for r in conn.execute(query)
        ]

    @staticmethod
    def _refuse_if_closed_to_participants(session) -> None:
        if session.status == "finished":
            raise WorkshopError(FINISHED)
        if session.expires_at <= _now():
            raise WorkshopError(EXPIRED)

    # --- facilitator ---

    def create_session(
        self,
        exercise: str,
        params: dict,
        group_size: int,
        rounds: int,
        treatment: str | None = None,
        ttl_hours: float = 12,
    ) -> tuple[int, str, str]:
        """Open a session in the lobby. Returns (session id, join code, facilitator key).

        `params` are the exercise's parameters as plain JSON (they read back through JSON,
        so dictionary keys become text). After `ttl_hours` the code lets nobody in and
        participants can no longer send; the facilitator can still finish and export.
        """
        exercise = _label(exercise, "The exercise name", optional=False)
        treatment = _label(treatment, "The treatment", optional=True)
        if not isinstance(params, dict):
            raise WorkshopError(f"The exercise parameters must be a dictionary; got {type(params).__name__}.")
        params = _plain_json(params, "The exercise parameters")
        group_size = _whole_number(group_size, "Group size", 1, MAX_GROUP_SIZE)
        total_rounds = _whole_number(rounds, "The number of rounds", 1, MAX_ROUNDS)
        if (
            isinstance(ttl_hours, bool)
            or not isinstance(ttl_hours, numbers.Real)
            or not 0 < ttl_hours <= MAX_TTL_HOURS
        ):
            raise WorkshopError(
                f"Hours until the session expires must be a number above 0 and at most {MAX_TTL_HOURS}; "
                f"got {ttl_hours!r}."
            )
        key = secrets.token_urlsafe(24)
        for _ in range(20):  # a clash among 32**6 codes is rare; draw again if it happens
            join_code = _new_join_code()
            now = _now()
            try:
                with self._transaction(write=True) as conn:
                    session_id = conn.execute(
                        sessions.insert().values(
                            join_code=join_code,
                            exercise=exercise,
                            params=params,
                            group_size=group_size,
                            rounds=total_rounds,
                            treatment=treatment,
                            status="lobby",
                            current_round=0,
                            groups_formed=False,
                            facilitator_key_hash=_digest(key),
                            created_at=now,
                            expires_at=now + timedelta(hours=float(ttl_hours)),
                        )
                    ).inserted_primary_key[0]
                return session_id, join_code, key
            except sa.exc.IntegrityError:
                continue
        raise RuntimeError("Could not draw an unused join code.")

    def form_groups(self, session_id: int, key: str) -> list[dict]:
        """Seat everyone who has joined, in join order, in groups of `group_size`.

        Allowed in the lobby only (and again there, to take in late arrivals). Returns the
        groups: ``{"group", "members": [{participant_id, display_name, seat}],
        "simulated_seats": [seats that simulated members fill]}``. Anyone who joins later
        takes the first empty seat, or opens a new group.
        """
        with self._transaction(write=True) as conn:
            session = self._facilitator_session(conn, session_id, key)
            if session.status == "finished":
                raise WorkshopError("The session has finished.")
            if session.status != "lobby":
                raise WorkshopError("The groups stay as they are once the first round has started.")
            joined = conn.execute(
                sa.select(participants.c.id)
                .where(participants.c.session_id == session.id)
                .order_by(participants.c.joined_at, participants.c.id)
            ).scalars().all()
            if not joined:
                raise WorkshopError("Nobody has joined yet, so there are no groups to form.")
            # Clear the seats first so that reseating never trips the unique (group, seat).
            conn.execute(
                participants.update()
                .where(participants.c.session_id == session.id)
                .values(group_number=None, seat=None)
            )
            for position, participant_id in enumerate(joined):
                conn.execute(
                    participants.update()
                    .where(participants.c.id == participant_id)
                    .values(group_number=position // session.group_size + 1, seat=position % session.group_size + 1)
                )
            conn.execute(sessions.update().where(sessions.c.id == session.id).values(groups_formed=True))
            return _groups_from_seats(self._seated(conn, session.id), session.group_size)

    def open_round(self, session_id: int, key: str) -> int:
        """Open the next round for decisions; returns its number."""
        with self._transaction(write=True) as conn:
            session = self._facilitator_session(conn, session_id, key)
            if session.status == "finished":
                raise WorkshopError("The session has finished.")
            if session.expires_at <= _now():
                raise WorkshopError(EXPIRED)
            if not session.groups_formed:
                raise WorkshopError("Form the groups before opening the first round.")
            still_open = self._open_round(conn, session)
            if still_open is not None:
                raise WorkshopError(f"Round {still_open} is still open; close it first.")
            if session.current_round >= session.rounds:
                raise WorkshopError(f"All {session.rounds} rounds have been played; finish the session.")
            number = session.current_round + 1
            conn.execute(
                rounds.insert().values(
                    session_id=session.id, round_number=number, treatment=session.treatment, opened_at=_now()
                )
            )
            conn.execute(
                sessions.update().where(sessions.c.id == session.id).values(current_round=number, status="running")
            )
            return number

    def close_round(
        self, session_id: int, key: str, results: dict | Callable[[list[dict]], dict]
    ) -> int:
        """Close the open round and record its results in the same transaction.

        `results` is a JSON dictionary, or a function that receives the round's decisions
        (as ``decisions(session_id, round)`` lists them) and returns one. The function runs
        after the round has stopped taking decisions, so its results count exactly the
        decisions that were stored; a dictionary computed beforehand may miss one that
        arrived just before closing. If the function raises, the round stays open.
        Returns the number of the closed round.
        """
        with self._transaction(write=True) as conn:
            session = self._facilitator_session(conn, session_id, key)
            number = self._open_round(conn, session)
            if number is None:
                raise WorkshopError("No round is open.")
            # Updating the round waits for submissions holding a share lock on it (PostgreSQL);
            # SQLite has only one writer at a time anyway.
            conn.execute(
                rounds.update()
                .where(rounds.c.session_id == session.id, rounds.c.round_number == number)
                .values(closed_at=_now())
            )
            if callable(results):
                results = results(self._decision_rows(conn, session.id, number))
            if not isinstance(results, dict):
                raise WorkshopError(f"Round results must be a dictionary; got {type(results).__name__}.")
            results = _plain_json(results, "Round results")
            conn.execute(
                rounds.update()
                .where(rounds.c.session_id == session.id, rounds.c.round_number == number)
                .values(results=results)
            )
            return number

    def set_treatment(self, session_id: int, key: str, treatment: str | None) -> None:
        """Change the treatment label for the rounds still to come (not while a round is open)."""
        treatment = _label(treatment, "The treatment", optional=True)
        with self._transaction(write=True) as conn:
            session = self._facilitator_session(conn, session_id, key)
            if session.status == "finished":
                raise WorkshopError("The session has finished.")
            still_open = self._open_round(conn, session)
            if still_open is not None:
                raise WorkshopError(f"Close round {still_open} before changing the treatment.")
            conn.execute(sessions.update().where(sessions.c.id == session.id).values(treatment=treatment))

    def finish(self, session_id: int, key: str) -> None:
        """End the session: no more joins or decisions. Finishing twice changes nothing."""
        with self._transaction(write=True) as conn:
            session = self._facilitator_session(conn, session_id, key)
            still_open = self._open_round(conn, session)
            if still_open is not None:
                raise WorkshopError(f"Close round {still_open} before finishing the session.")
            conn.execute(sessions.update().where(sessions.c.id == session.id).values(status="finished"))

    def export_csv(self, session_id: int, key: str) -> str:
        """`export_rows` as CSV text for Excel: starts with a UTF-8 byte order mark, commas,
        times in UTC as ``2025-05-01 10:15:30.123``. Write it with ``encoding="utf-8"``."""
        with self._transaction(write=False) as conn:
            self._facilitator_session(conn, session_id, key, lock=False)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            ["session", "round", "treatment", "group", "seat", "participant_id", "participant", "decision",
             "submitted_at_utc"]
        )
        for row in self.export_rows(session_id):
            writer.writerow(
                [
                    row["session"],
                    row["round"],
                    _csv_text(row["treatment"] or ""),
                    "" if row["group"] is None else row["group"],
                    "" if row["seat"] is None else row["seat"],
                    row["participant_id"],
                    _csv_text(row["display_name"]),
                    "" if row["submitted_at"] is None else _csv_decision(row["decision"]),
                    _csv_time(row["submitted_at"]),
                ]
            )
        return "\ufeff" + buffer.getvalue()

    # --- reading (no key: the apps run on the server, participants cannot call these) ---

    def lobby(self, session_id: int) -> dict:
        """The session's settings, everyone who has joined, and the groups once formed."""
        with self._transaction(write=False) as conn:
            session = self._session(conn, session_id)
            joined = conn.execute(
                sa.select(participants)
                .where(participants.c.session_id == session.id)
                .order_by(participants.c.joined_at, participants.c.id)
            ).all()
            seated = self._seated(conn, session.id)
            open_round = self._open_round(conn, session)
        return {
            "session_id": session.id,
            "join_code": session.join_code,
            "exercise": session.exercise,
            "params": session.params,
            "group_size": session.group_size,
            "rounds": session.rounds,
            "treatment": session.treatment,
            "status": session.status,
            "current_round": session.current_round,
            "round_open": open_round is not None,
            "expires_at": session.expires_at,
            "participants": [
                {
                    "participant_id": p.id,
                    "display_name": p.display_name,
                    "group": p.group_number,
                    "seat": p.seat,
                    "joined_at": p.joined_at,
                    "last_seen": p.last_seen,
                }
                for p in joined
            ],
            "groups": _groups_from_seats(seated, session.group_size) if session.groups_formed else [],
        }

    def round_status(self, session_id: int, round_number: int) -> dict:
        """Who has sent a decision in a round, and who is still to send one."""
        with self._transaction(write=False) as conn:
            session = self._session(conn, session_id)
            number = _whole_number(round_number, "The round", 1, session.rounds)
            row = self._round(conn, session.id, number)
            if row is None:
                raise WorkshopError(f"Round {number} has not been opened.")
            sent = {d["participant_id"]: d for d in self._decision_rows(conn, session.id, number)}
            seated = self._seated(conn, session.id)
        return {
            "round": number,
            "open": row.closed_at is None,
            "treatment": row.treatment,
            "opened_at": row.opened_at,
            "closed_at": row.closed_at,
            "submitted": [
                {key: d[key] for key in ("participant_id", "display_name", "group", "seat", "submitted_at")}
                for d in sent.values()
            ],
            "waiting": [member for member in seated if member["participant_id"] not in sent],
        }

    def decisions(self, session_id: int, round_number: int | None = None) -> list[dict]:
        """Stored decisions, by round, group and seat: round, participant_id, display_name,
        group, seat, value, submitted_at."""
        with self._transaction(write=False) as conn:
            session = self._session(conn, session_id)
            return self._decision_rows(conn, session.id, round_number)

    def results(self, session_id: int) -> dict[int, dict]:
        """The recorded results of every closed round, by round number."""
        with self._transaction(write=False) as conn:
            session = self._session(conn, session_id)
            query = (
                sa.select(rounds.c.round_number, rounds.c.results)
                .where(rounds.c.session_id == session.id, rounds.c.closed_at.is_not(None))
                .order_by(rounds.c.round_number)
            )
            return {r.round_number: r.results for r in conn.execute(query)}

    def export_rows(self, session_id: int) -> list[dict]:
        """One row per participant per opened round, decision or not.

        Keys: session (the join code), round, treatment, group, seat, participant_id,
        display_name, decision (None if none was sent), submitted_at. A participant who
        joined after a round had closed has no row for it.
        """
        with self._transaction(write=False) as conn:
            session = self._session(conn, session_id)
            opened = conn.execute(
                sa.select(rounds).where(rounds.c.session_id == session.id).order_by(rounds.c.round_number)
            ).all()
            people = conn.execute(
                sa.select(participants)
                .where(participants.c.session_id == session.id)
                .order_by(participants.c.group_number, participants.c.seat, participants.c.joined_at, participants.c.id)
            ).all()
            sent = {(d["round"], d["participant_id"]): d for d in self._decision_rows(conn, session.id)}
        rows = []
        for round_row in opened:
            for person in people:
                decision = sent.get((round_row.round_number, person.id))
                late = round_row.closed_at is not None and person.joined_at > round_row.closed_at
                if late and decision is None:
                    continue
                rows.append(
                    {
                        "session": session.join_code,
                        "round": round_row.round_number,
                        "treatment": round_row.treatment,
                        "group": person.group_number,
                        "seat": person.seat,
                        "participant_id": person.id,
                        "display_name": person.display_name,
                        "decision": None if decision is None else decision["value"],
                        "submitted_at": None if decision is None else decision["submitted_at"],
                    }
                )
        return rows

    def summary(self, session_id: int) -> dict:
        """Counts for the facilitator's screen, and per round how many decided (with the
        mean, lowest and highest when every decision is a number)."""
        state = self.lobby(session_id)
        with self._transaction(write=False) as conn:
            opened = conn.execute(
                sa.select(rounds).where(rounds.c.session_id == state["session_id"]).order_by(rounds.c.round_number)
            ).all()
            by_round: dict[int, list] = {}
            for d in self._decision_rows(conn, state["session_id"]):
                by_round.setdefault(d["round"], []).append(d["value"])
        seated = sum(len(g["members"]) for g in state["groups"])
        per_round = []
        for r in opened:
            values = by_round.get(r.round_number, [])
            numeric = values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            per_round.append(
                {
                    "round": r.round_number,
                    "treatment": r.treatment,
                    "open": r.closed_at is None,
                    "decisions": len(values),
                    "has_results": r.results is not None,
                    "mean": math.fsum(values) / len(values) if numeric else None,
                    "lowest": min(values) if numeric else None,
                    "highest": max(values) if numeric else None,
                }
            )
        return {
            "session_id": state["session_id"],
            "join_code": state["join_code"],
            "exercise": state["exercise"],
            "status": state["status"],
            "treatment": state["treatment"],
            "rounds": state["rounds"],
            "current_round": state["current_round"],
            "rounds_closed": sum(1 for r in opened if r.closed_at is not None),
            "participants": len(state["participants"]),
            "groups": len(state["groups"]),
            "seated": seated,
            "simulated_seats": sum(len(g["simulated_seats"]) for g in state["groups"]),
            "per_round": per_round,
        }

    # --- participants ---

    def join(self, join_code: str, display_name: str) -> tuple[int, str]:
        """Join a session by its code. Returns (participant id, token); the token goes into
        the participant's link and is the only way to act as this participant."""
        code = _clean_join_code(join_code)
        name, name_key = _clean_name(display_name)
        token = secrets.token_urlsafe(24)
        try:
            with self._transaction(write=True) as conn:
                session = conn.execute(
                    sa.select(sessions).where(sessions.c.join_code == code).with_for_update(key_share=True)
                ).one_or_none()
                if session is None:
                    raise WorkshopError(UNKNOWN_CODE.format(code=code))
                self._refuse_if_closed_to_participants(session)
                taken = conn.execute(
                    sa.select(participants.c.id).where(
                        participants.c.session_id == session.id, participants.c.name_key == name_key
                    )
                ).first()
                if taken is not None:
                    raise WorkshopError(NAME_TAKEN.format(name=name))
                group = seat = None
                if session.groups_formed:
                    group, seat = _free_seat(self._seated(conn, session.id), session.group_size)
                now = _now()
                participant_id = conn.execute(
                    participants.insert().values(
                        session_id=session.id,
                        token_hash=_digest(token),
                        display_name=name,
                        name_key=name_key,
                        group_number=group,
                        seat=seat,
                        joined_at=now,
                        last_seen=now,
                    )
                ).inserted_primary_key[0]
        except sa.exc.IntegrityError:  # the same name joining at the same instant
            raise WorkshopError(NAME_TAKEN.format(name=name)) from None
        return participant_id, token

    def check_code(self, join_code: str) -> None:
        """Raise WorkshopError with the participant's message if ``join_code`` lets nobody in
        (unknown, expired, finished). Reads only: a checked code writes nothing."""
        code = _clean_join_code(join_code)
        with self._transaction(write=False) as conn:
            session = conn.execute(sa.select(sessions).where(sessions.c.join_code == code)).one_or_none()
        if session is None:
            raise WorkshopError(UNKNOWN_CODE.format(code=code))
        self._refuse_if_closed_to_participants(session)

    def rejoin(self, token: str) -> dict:
        """The participant's seat and the session's state, for a page that was reloaded or
        lost its connection. Also notes that the participant is still there."""
        with self._transaction(write=False) as conn:
            person = self._participant(conn, token)
            session = self._session(conn, person.session_id)
            if session.expires_at <= _now():
                raise WorkshopError(EXPIRED)
            open_round = self._open_round(conn, session)
            mine = conn.execute(
                sa.select(decisions.c.round_number, decisions.c.value)
                .where(decisions.c.participant_id == person.id)
                .order_by(decisions.c.round_number)
            ).all()
            closed = conn.execute(
                sa.select(rounds.c.round_number)
                .where(rounds.c.session_id == session.id, rounds.c.closed_at.is_not(None))
                .order_by(rounds.c.round_number)
            ).scalars().all()
            group_members = [
                m for m in self._seated(conn, session.id)
                if person.group_number is not None and m["group"] == person.group_number
            ]
        now = _now()
        if now - person.last_seen >= timedelta(seconds=LAST_SEEN_EVERY_SECONDS):
            with self._transaction(write=True) as conn:
                conn.execute(participants.update().where(participants.c.id == person.id).values(last_seen=now))
        my_decisions = {r.round_number: r.value for r in mine}
        taken_seats = {m["seat"] for m in group_members}
        return {
            "participant_id": person.id,
            "display_name": person.display_name,
            "session_id": session.id,
            "join_code": session.join_code,
            "exercise": session.exercise,
            "params": session.params,
            "status": session.status,
            "treatment": session.treatment,
            "rounds": session.rounds,
            "current_round": session.current_round,
            "round_open": open_round is not None,
            "group": person.group_number,
            "seat": person.seat,
            "group_members": [{"seat": m["seat"], "display_name": m["display_name"]} for m in group_members],
            "simulated_seats": [s for s in range(1, session.group_size + 1) if s not in taken_seats]
            if person.group_number is not None else [],
            "decisions": my_decisions,
            "submitted_this_round": open_round is not None and open_round in my_decisions,
            "closed_rounds": list(closed),
        }

    def submit(self, token: str, round_number: int, value: Any, validate: Callable[[Any], Any]) -> dict:
        """Record the participant's decision for the open round, in one transaction.

        `validate` comes from the exercise model: it returns the cleaned value or raises
        ValueError, whose message reaches the participant unchanged. Returns
        ``{"round", "value" (as stored), "submitted_at"}``.
        """
        if not callable(validate):
            raise TypeError("validate must be the exercise's function that checks a decision.")
        try:
            with self._transaction(write=True) as conn:
                person = self._participant(conn, token, lock=True)
                session = self._session(conn, person.session_id)
                self._refuse_if_closed_to_participants(session)
                if isinstance(round_number, bool) or not isinstance(round_number, numbers.Integral):
                    raise WorkshopError(f"The round must be a whole number; got {round_number!r}.")
                number = int(round_number)
                row = self._round(conn, session.id, number, share_lock=True)
                if row is None:
                    if session.current_round == 0:
                        raise WorkshopError(FIRST_ROUND_NOT_OPEN)
                    if number > session.current_round:
                        raise WorkshopError(ROUND_NOT_OPEN_YET.format(round=number))
                    raise WorkshopError(NO_SUCH_ROUND.format(round=number))
                if row.closed_at is not None:
                    raise WorkshopError(ROUND_CLOSED.format(round=number))
                if person.group_number is None:
                    raise WorkshopError(NO_SEAT)
                already = conn.execute(
                    sa.select(decisions.c.id).where(
                        decisions.c.session_id == session.id,
                        decisions.c.round_number == number,
                        decisions.c.participant_id == person.id,
                    )
                ).first()
                if already is not None:
                    raise WorkshopError(ALREADY_SENT.format(round=number))
                try:
                    cleaned = validate(value)
                except WorkshopError:
                    raise
                except ValueError as error:
                    raise WorkshopError(str(error)) from error
                cleaned = _plain_json(cleaned, "A decision")
                now = _now()
                conn.execute(
                    decisions.insert().values(
                        session_id=session.id,
                        round_number=number,
                        participant_id=person.id,
                        value=cleaned,
                        submitted_at=now,
                    )
                )
                conn.execute(participants.update().where(participants.c.id == person.id).values(last_seen=now))
        except sa.exc.IntegrityError:  # the same decision racing in from a second tab
            raise WorkshopError(ALREADY_SENT.format(round=round_number)) from None
        return {"round": number, "value": cleaned, "submitted_at": now}
