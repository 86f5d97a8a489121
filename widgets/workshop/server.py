"""Start the workshop server: one standalone Voila serving only the workshop app.

    python -m widgets.workshop.server            # this laptop only
    python -m widgets.workshop.server --lan      # phones on the laptop's Wi-Fi can join

It prints two addresses: the facilitator's (carrying the facilitator key: keep it to
yourself) and the one participants open or scan. The store and the key live in
``workshop-data/``, so a restarted server finds every decision and the same key.

Before Voilà it starts the fork server (``forkserver.py``): every page's kernel is forked
from that one warm process, so a phone's page is ready in a fraction of a second and its
kernel shares the loaded code instead of holding its own copy.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from widgets.workshop.forkserver import FORK_SERVER_VARIABLE

ROOT = Path(__file__).resolve().parent.parent.parent
APP = ROOT / "workshop" / "app.ipynb"
KERNELS = ROOT / "workshop"  # kernels/workshop-python: the app's kernel spec (forked kernels)
TEMPLATES = ROOT / "templates"
FORK_SERVER_START_SECONDS = 60
REFILL_DELAY_SECONDS = 15
DATA_DIR = ROOT / "workshop-data"


def lan_address() -> str:
    """This laptop's address on its network (for phones), found without sending anything."""
    candidates = []
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
        candidates += [a for a in found if "." in a]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        candidates += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass
    for address in candidates:
        if not address.startswith("127."):
            return address
    return "127.0.0.1"


def facilitator_key(data_dir: Path) -> str:
    """The server's facilitator key, made once and kept so a restart keeps the same link."""
    path = data_dir / "facilitator-key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(18)
    path.write_text(key)
    path.chmod(0o600)
    return key


def voila_command(ip: str, port: int, pool_size: int) -> list[str]:
    return [
        # Voilà itself, with its page templates compiled once (see voila_app.py).
        sys.executable, "-m", "widgets.workshop.voila_app",
        str(APP),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--template=offline",
        "--show_tracebacks=False",
        # Kernels started ahead of time, so a participant's page appears at once.
        "--preheat_kernel=True",
        f"--pool_size={pool_size}",
        # Refill the pool only once the people arriving together are in: each new warm
        # kernel costs the server a page render, which would slow the joins still going on.
        f"--VoilaKernelManager.fill_delay={REFILL_DELAY_SECONDS}",
        # Serve no files at all from disk: not the notebook, not the store.
        "--VoilaConfiguration.file_allowlist=[]",
        # A page that was closed leaves its kernel behind (a phone's join page, a dropped
        # connection); shut such kernels down after a while. Connected pages are never
        # touched, and a participant who comes back gets a new kernel and the same seat.
        "--MappingKernelManager.cull_idle_timeout=900",
        "--MappingKernelManager.cull_interval=60",
    ]


def start_fork_server(folder: Path) -> tuple[subprocess.Popen | None, str | None]:
    """The process that forks the kernels (see ``forkserver.py``) and its socket, or
    (None, None) when it cannot start: kernels are then started the usual way."""
    socket_path = str(folder / "kernels.sock")
    process = subprocess.Popen([sys.executable, "-m", "widgets.workshop.forkserver", socket_path],
                               stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + FORK_SERVER_START_SECONDS
    while not os.path.exists(socket_path):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            print("Kernels will start one by one (the fork server did not start).", flush=True)
            return None, None
        time.sleep(0.05)
    return process, socket_path


def server_environment(store_url: str, key: str, data_dir: Path, ip: str, public_url: str,
                       fork_server: str | None = None) -> dict[str, str]:
    environment = {
        **os.environ,
        "JUPYTER_PATH": os.pathsep.join([str(TEMPLATES), str(KERNELS)]),
        "WORKSHOP_STORE_URL": store_url,
        "WORKSHOP_FACILITATOR_KEY": key,
        # The facilitator's kernel keeps each session's key here, beside the server's key.
        "WORKSHOP_DATA_DIR": str(data_dir.resolve()),
        # What the QR code points phones at (the page may be open at 127.0.0.1 on the laptop).
        "WORKSHOP_PUBLIC_URL": public_url,
        # Where a preheated kernel asks Voila for its page's request; Voila itself tells its
        # kernels only the port, and with --lan nothing listens on 127.0.0.1.
        "VOILA_APP_IP": ip,
    }
    if fork_server:
        environment[FORK_SERVER_VARIABLE] = fork_server
    return environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the workshop server.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--lan", action="store_true", help="listen on this laptop's network address, for phones")
    where.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: this laptop only)")
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--pool-size", type=int, default=10,
                        help="kernels kept warm for people about to join: about the number in the room")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where the store and the key are kept")
    parser.add_argument("--store", default=None, help="a database URL (default: a SQLite file in the data folder)")
    args = parser.parse_args(argv)
    if not 1 <= args.pool_size <= 64:
        parser.error("--pool-size must be a whole number from 1 to 64")

    ip = lan_address() if args.lan else args.ip
    args.data_dir.mkdir(parents=True, exist_ok=True)
    store_url = args.store or f"sqlite:///{(args.data_dir / 'workshop.db').resolve()}"
    key = facilitator_key(args.data_dir)
    address = f"http://{ip}:{args.port}/"
    print(f"Facilitator (keep this link to yourself): {address}?key={key}", flush=True)
    print(f"Participants join at:                    {address}", flush=True)
    if ip == "127.0.0.1":
        print("Only this laptop can connect. For phones on this Wi-Fi, start with --lan.", flush=True)
    with tempfile.TemporaryDirectory(prefix="workshop-kernels-") as private:  # only this user may open it
        fork_server, socket_path = start_fork_server(Path(private))
        process = subprocess.Popen(voila_command(ip, args.port, args.pool_size),
                                   env=server_environment(store_url, key, args.data_dir, ip, address, socket_path))

        def stop(signum, _frame):  # `kill` on this process stops Voila and its kernels too
            process.send_signal(signum)

        signal.signal(signal.SIGTERM, stop)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            return process.wait()
        finally:
            if fork_server is not None:
                fork_server.terminate()
                fork_server.wait()


if __name__ == "__main__":
    sys.exit(main())
