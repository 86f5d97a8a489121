"""The fork server: workshop kernels forked from one warm process, through Jupyter's own
kernel manager and the workshop app's kernel spec."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from widgets.workshop.forkserver import FORK_SERVER_VARIABLE, ask_for_kernel
from widgets.workshop.server import KERNELS, start_fork_server

KERNEL_NAME = "workshop-python"


def gone(pid: int, within: float) -> bool:
    """Whether the process ends within ``within`` seconds (a zombie counts as ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def run_in_kernel(manager: KernelManager, code: str) -> str:
    """What ``code`` prints in the kernel."""
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        printed = []
        client.execute_interactive(code, timeout=60, output_hook=lambda m: printed.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        return "".join(printed).strip()
    finally:
        client.stop_channels()


@pytest.fixture
def fork_server(tmp_path):
    process, socket_path = start_fork_server(tmp_path)
    assert process is not None, "the fork server did not start"
    yield process, socket_path
    process.terminate()
    process.wait(10)


@pytest.fixture
def workshop_kernels(monkeypatch):
    """Jupyter finds the workshop app's kernel spec, as the workshop server arranges."""
    monkeypatch.setenv("JUPYTER_PATH", str(KERNELS))


def test_a_workshop_kernel_is_forked_from_the_fork_server_and_gets_its_own_environment(
        fork_server, workshop_kernels, monkeypatch, tmp_path):
    process, socket_path = fork_server
    monkeypatch.setenv(FORK_SERVER_VARIABLE, socket_path)
    manager = KernelManager(kernel_name=KERNEL_NAME)
    manager.start_kernel(env={**os.environ, "VOILA_KERNEL_ID": "kernel-42"}, cwd=str(tmp_path))
    try:
        kernel_pid = manager.provisioner.pid
        shown = run_in_kernel(manager, "import os, sys\n"
                                       "print(os.getppid(), os.environ['VOILA_KERNEL_ID'], os.getcwd(),\n"
                                       "      'widgets.workshop.participant' in sys.modules)")
        parent, kernel_id, folder, preloaded = shown.split()
        assert int(parent) == process.pid  # forked, not started by the kernel manager
        assert kernel_id == "kernel-42" and Path(folder) == tmp_path
        assert preloaded == "True"  # the participant's code came with the fork
        assert run_in_kernel(manager, "print(6 * 7)") == "42"
    finally:
        manager.shutdown_kernel(now=True)
    assert gone(kernel_pid, 10), "the kernel outlived its shutdown"
    assert process.poll() is None, "the fork server went down with a kernel"


@pytest.mark.parametrize("fork_server_socket", [None, "nobody-listens.sock"],
                         ids=["no fork server", "a fork server that cannot be reached"])
def test_without_a_reachable_fork_server_kernels_start_the_usual_way(workshop_kernels, monkeypatch, tmp_path,
                                                                      fork_server_socket):
    if fork_server_socket is None:
        monkeypatch.delenv(FORK_SERVER_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(FORK_SERVER_VARIABLE, str(tmp_path / fork_server_socket))
    manager = KernelManager(kernel_name=KERNEL_NAME)
    manager.start_kernel()
    try:
        assert int(run_in_kernel(manager, "import os; print(os.getppid())")) == os.getpid()
    finally:
        manager.shutdown_kernel(now=True)


def test_a_bad_request_is_answered_with_an_error_and_the_fork_server_carries_on(fork_server):
    process, socket_path = fork_server
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(10)
        connection.connect(socket_path)
        connection.sendall(b'{"command": ["python"]}\n')  # no environment, no folder
        answer = json.loads(connection.makefile("r").readline())
    assert "error" in answer and "pid" not in answer
    with pytest.raises(OSError):
        ask_for_kernel(socket_path, ["python"], "not a mapping", "/")  # type: ignore[arg-type]
    assert process.poll() is None
    # A command that is not a Python kernel is started as asked, in its own process group.
    pid = ask_for_kernel(socket_path, ["/bin/sleep", "30"], {"PATH": "/bin"}, "/")
    try:
        assert os.getpgid(pid) == pid
    finally:
        os.kill(pid, signal.SIGKILL)
    assert gone(pid, 10)


def test_the_fork_server_and_its_kernels_stop_when_the_workshop_server_is_gone(tmp_path):
    socket_path = tmp_path / "kernels.sock"
    # A stand-in for the workshop server: starts the fork server, has it fork one process.
    parent = subprocess.Popen([sys.executable, "-c", f"""
import subprocess, sys, time, os
subprocess.Popen([sys.executable, "-m", "widgets.workshop.forkserver", {str(socket_path)!r}])
while not os.path.exists({str(socket_path)!r}):
    time.sleep(0.05)
print(flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
    try:
        parent.stdout.readline()
        server_pid = int(subprocess.run(["pgrep", "-f", f"forkserver {socket_path}"], capture_output=True,
                                        text=True).stdout.split()[0])
        assert not gone(server_pid, 0.5)
    finally:
        parent.kill()
        parent.wait(10)
    assert gone(server_pid, 10), "the fork server outlived the workshop server"
