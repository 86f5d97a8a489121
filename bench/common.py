"""What the benchmark sections share: rows for the table, statistics, and processes.

Every section returns rows built by ``row``: a value, the baseline it is compared with
(measured in the same run), and their ratio. Processes are the ones a section started
itself (a Voila server and its kernels); nothing else is ever touched.
"""
from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def row(measure: str, value: float, unit: str, baseline: float, baseline_name: str, **extra) -> dict:
    """A table row; ``extra`` (for example ``target``) goes into the JSON as it is."""
    return {"measure": measure, "value": value, "unit": unit, "baseline": baseline,
            "baseline_name": baseline_name, "ratio": value / baseline, **extra}


def target(what: str, limit: float, value: float, unit: str = "s") -> dict:
    """A target the issue sets ('at most ``limit``'), and whether this run met it."""
    return {"what": what, "at_most": limit, "unit": unit, "value": value, "met": value <= limit}


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (``share`` 0.5 is the median)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a process tree, read from /proc ------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time these processes have used so far."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields and fields[0] != "Z":
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def kernels(root: int) -> set[int]:
    """The Jupyter kernels under ``root`` (``python -m ipykernel_launcher -f ...``)."""
    found = set()
    for pid in descendants(root)[1:]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"ipykernel_launcher" in cmdline.read():
                    fields = _stat(pid)
                    if fields and fields[0] != "Z":
                        found.add(pid)
        except OSError:
            continue
    return found


def wait_quiet(root: int, timeout: float, window: float = 0.5, busy_share: float = 0.05) -> float:
    """Wait until ``root``'s tree has used less than ``busy_share`` of one core for ``window``
    seconds (a kernel that finished running its notebook, a server done rendering).
    Returns the seconds waited; TimeoutError after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    before = cpu_seconds(descendants(root))
    while True:
        time.sleep(window)
        now = cpu_seconds(descendants(root))
        if now - before < busy_share * window:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {root} and its children stayed busy for {timeout:.0f} s")
        before = now


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return values[3] + values[4], sum(values)  # idle and iowait, all


def wait_machine_idle(timeout: float = 30, window: float = 0.5, idle_share: float = 0.8) -> bool:
    """Wait until the whole machine is at least ``idle_share`` idle for ``window`` seconds
    (other work on a shared machine skews a timing); after ``timeout`` go on regardless.
    Returns whether it was idle."""
    deadline = time.monotonic() + timeout
    idle, total = _cpu_times()
    while True:
        time.sleep(window)
        idle_now, total_now = _cpu_times()
        if total_now > total and (idle_now - idle) / (total_now - total) >= idle_share:
            return True
        if time.monotonic() > deadline:
            return False
        idle, total = idle_now, total_now


def listening(port: int, process: subprocess.Popen, timeout: float) -> bool:
    """Wait until a server answers on 127.0.0.1:``port``; False if ``process`` ended first
    or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def wait_until(condition, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _started(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields and fields[0] != "Z" else None


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server this benchmark started: SIGTERM (it shuts its kernels down), then
    SIGKILL for whatever of its own tree is left (kernels run in sessions of their own).
    A process is only killed if it is still the one that was started (same start time)."""
    tree = {pid: _started(pid) for pid in descendants(process.pid)}
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
    for pid, started in tree.items():
        if pid != process.pid and started is not None and _started(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
