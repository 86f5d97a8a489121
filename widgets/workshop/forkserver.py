"""Kernels for the workshop started by forking one warm process, not by a new Python each.

A new kernel normally starts a new Python, which imports ipykernel, ipywidgets, NumPy,
SQLAlchemy and the exercise models again: about a second of processor time and some
60 MiB of memory of its own, for every phone in the room. Here one process (the *fork
server*) imports all of that once and then forks a kernel whenever Voilà asks for one.
A forked kernel is ready at once and shares the imported code with the fork server and
with every other kernel, so it holds only what its own page adds.

- ``serve(socket_path)`` runs the fork server (``python -m widgets.workshop.forkserver``).
  The workshop server starts it before Voilà and names its socket in ``FORK_SERVER_VARIABLE``.
- ``ForkProvisioner`` is the kernel provisioner that Voilà's kernel manager uses for the
  workshop app's kernel spec (``workshop/kernels/workshop-python``). It asks the fork
  server for a kernel and, when there is none to ask, starts one the usual way.

The socket sits in a folder only this user can open. Each request is one line of JSON
(the kernel's command, environment and folder); the answer is the new kernel's process id.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

FORK_SERVER_VARIABLE = "WORKSHOP_FORK_SERVER"
KERNEL_MODULE = "ipykernel_launcher"
# What every workshop kernel imports: loaded once here, shared by all of them.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "ipywidgets", "sqlite3", "psutil",
           "pdb", "pydoc", "widgets.workshop.participant")
ANSWER_TIMEOUT_SECONDS = 10


# --- the fork server --------------------------------------------------------------------------


def _run_kernel(command: list[str], environment: dict[str, str], folder: str, server_pid: int) -> None:
    """In the forked child: become the kernel that ``command`` would have started."""
    os.setpgid(0, 0)  # its own process group, as a kernel started the usual way has
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel waits for its own children
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)
    if command[1:3] != ["-m", KERNEL_MODULE]:
        os.execvpe(command[0], command, environment)  # not a Python kernel: start it as asked
    from ipykernel.kernelapp import IPKernelApp

    # The kernel leaves when the fork server does (Voilà's own pid is not its parent here).
    IPKernelApp.launch_instance(argv=command[3:] + [f"--IPKernelApp.parent_handle={server_pid}"])
    os._exit(0)


def _read_request(connection: socket.socket) -> tuple[list[str], dict[str, str], str]:
    try:
        request = json.loads(connection.makefile("r").readline())
        command, environment, folder = request["command"], request["environment"], request["folder"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"expected a JSON object with command, environment and folder ({error})") from None
    if not (isinstance(command, list) and command and all(isinstance(part, str) for part in command)):
        raise ValueError("the command must be a list of strings")
    if not (isinstance(environment, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in environment.items())):
        raise ValueError("the environment must map names to strings")
    if not isinstance(folder, str):
        raise ValueError("the folder must be a string")
    return command, environment, folder


def serve(socket_path: str, parent_pid: int | None = None) -> None:
    """Preload the kernels' modules, then fork a kernel for every request on ``socket_path``.

    Stops when its parent process (the workshop server) is gone.
    """
    parent_pid = parent_pid or os.getppid()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS threads to fork
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the debugger's import would warn
    for module in PRELOAD:
        __import__(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished kernels are reaped by the system
    gc.collect()
    gc.freeze()  # what was imported stays shared: the collector will not touch those pages
    server_pid = os.getpid()
    print(f"fork server ready ({len(sys.modules)} modules loaded)", flush=True)
    while os.getppid() == parent_pid:
        ready, _, _ = select.select([listener], [], [], 1.0)
        if not ready:
            continue
        connection, _ = listener.accept()
        with connection:
            try:
                command, environment, folder = _read_request(connection)
            except ValueError as error:
                connection.sendall(json.dumps({"error": f"bad request: {error}"}).encode() + b"\n")
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                try:
                    _run_kernel(command, environment, folder, server_pid)
                finally:
                    os._exit(1)
            try:  # set here too, so the group exists before the answer (whichever runs first)
                os.setpgid(pid, pid)
            except OSError:
                pass  # the child has set it already, or has become another program
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    listener.close()


def ask_for_kernel(socket_path: str, command: list[str], environment: dict[str, str], folder: str) -> int:
    """The process id of a kernel forked by the fork server at ``socket_path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(ANSWER_TIMEOUT_SECONDS)
        connection.connect(socket_path)
        request = {"command": command, "environment": environment, "folder": folder}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("r").readline())
    if "pid" not in answer:
        raise OSError(answer.get("error", "the fork server gave no kernel"))
    return int(answer["pid"])


# --- the kernel manager's side ------------------------------------------------------------------


class ForkedKernel:
    """The handle ``LocalProvisioner`` keeps for a kernel, for one it did not start itself.

    The kernel is the fork server's child, so its exit code is not ours to read: it is
    reported as 0 once the process is gone.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"kernel process {self.pid} is still running")
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkProvisioner(LocalProvisioner):
    """Kernels from the fork server when the workshop server runs one; else started as usual."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        socket_path = os.environ.get(FORK_SERVER_VARIABLE)
        if not socket_path:
            return await super().launch_kernel(cmd, **kwargs)
        environment = {**os.environ, **(kwargs.get("env") or {})}
        folder = str(kwargs.get("cwd") or Path.cwd())
        try:
            pid = ask_for_kernel(socket_path, cmd, environment, folder)
        except OSError as error:
            self.log.warning("No kernel from the fork server (%s); starting one the usual way.", error)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedKernel(pid)
        self.pid = self.pgid = pid  # the kernel leads its own process group
        self.cwd = folder
        return self.connection_info


if __name__ == "__main__":
    serve(sys.argv[1])
