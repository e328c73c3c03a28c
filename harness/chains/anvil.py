"""A local anvil node for benchmarks and tests: find the binary (PATH, or
the npm package in node_modules), start it on a free loopback port, wait
until it answers, stop it."""
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from .artifacts import ROOT
from .rpc import Rpc


def anvil_binary() -> Optional[str]:
    found = shutil.which("anvil")
    if found:
        return found
    for cand in sorted(ROOT.glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
        if os.access(cand, os.X_OK):
            return str(cand)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AnvilNode:
    proc: subprocess.Popen
    url: str
    rpc: Rpc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_anvil(*args: str, binary: Optional[str] = None, timeout: float = 20, tries: int = 3) -> AnvilNode:
    """anvil --port <free> --silent *args, answering eth_chainId; RuntimeError if it never does."""
    binary = binary or anvil_binary()
    if binary is None:
        raise RuntimeError("anvil not found: run ./isomargin setup (installs it from npm)")
    for _ in range(tries):
        port = free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--silent", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        rpc = Rpc.http(url, timeout=10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                rpc.chain_id()
                return AnvilNode(proc, url, rpc)
            except Exception:
                time.sleep(0.1)
        proc.kill()  # lost the port to another process, or too slow: try again
        proc.wait(timeout=5)
    raise RuntimeError("anvil did not start")
