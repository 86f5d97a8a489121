"""A throwaway PostgreSQL server for tests of the workshop store.

Import the fixture into a test module (``from postgres import postgres_url``). It yields a
SQLAlchemy URL:

- the value of ``WORKSHOP_STORE_URL`` when that is set (an existing PostgreSQL server;
  the tests work in schemas of their own there and drop them afterwards);
- otherwise a new cluster made with Debian's binaries (``/usr/lib/postgresql/*/bin``) in a
  temporary folder, listening on 127.0.0.1 only at a free port with its unix socket in
  that folder, stopped and deleted after the test session.

Missing binaries make the fixture fail, not skip: a green run must mean PostgreSQL was
tested.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

URL_VARIABLE = "WORKSHOP_STORE_URL"
INITDB_PATTERN = "/usr/lib/postgresql/*/bin/initdb"
SERVICE_USER = "postgres"  # root may not run PostgreSQL; Debian's package creates this user
DATABASE_USER = "workshop"
START_TIMEOUT_SECONDS = 30


def _version_key(initdb: str) -> tuple[int, ...]:
    version = Path(initdb).parts[-3]  # /usr/lib/postgresql/<version>/bin/initdb
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _runner() -> tuple[list[str], tuple[int, int] | None]:
    """The command prefix that runs a PostgreSQL program, and the owner for its folder."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pytest.fail(
            f"Running as root, the tests start PostgreSQL as the '{SERVICE_USER}' user, which does not "
            "exist: `apt-get install postgresql` creates it."
        )
    return ["runuser", "-u", SERVICE_USER, "--"], (user.pw_uid, user.pw_gid)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def postgres_url():
    existing = os.environ.get(URL_VARIABLE)
    if existing:
        yield existing
        return

    found = sorted(glob.glob(INITDB_PATTERN), key=_version_key)
    if not found:
        pytest.fail(
            f"PostgreSQL is not installed (no {INITDB_PATTERN}): run `apt-get install postgresql`, "
            f"or set {URL_VARIABLE} to a PostgreSQL SQLAlchemy URL."
        )
    bindir = Path(found[-1]).parent
    prefix, owner = _runner()

    # As root the server runs as another user, who must be able to reach the folder: a
    # TMPDIR under /root would not do, so it goes straight under /tmp then.
    folder = Path(tempfile.mkdtemp(prefix="workshop-pg-", dir="/tmp" if owner else None))
    data, log = folder / "data", folder / "server.log"
    if owner:
        os.chown(folder, *owner)
    started = False
    try:
        _run(
            prefix + [str(bindir / "initdb"), "-D", str(data), "-U", DATABASE_USER, "-A", "trust",
                      "-E", "UTF8", "--no-locale", "--no-sync"],
            "initdb",
        )
        for _attempt in range(3):  # another program may take the free port before the server does
            port = _free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
            done = subprocess.run(
                prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                          "-w", "-t", str(START_TIMEOUT_SECONDS), "start"],
                capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS + 10,
            )
            if done.returncode == 0:
                started = True
                break
        if not started:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"pg_ctl could not start PostgreSQL:\n{done.stdout}\n{done.stderr}\n{server_log}")
        yield f"postgresql+psycopg://{DATABASE_USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
