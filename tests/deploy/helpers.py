"""Helpers for the deploy and audit tests: anvil nodes, a keystore, `ape run`."""
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from harness.chains.anvil import anvil_binary  # noqa: F401 - the conftest's
from harness.chains.rpc import Rpc

ROOT = Path(__file__).resolve().parents[2]
ALIAS = "isomargin_test_deployer"
APE_RUN_TIMEOUT = 240


@dataclass
class Anvil:
    proc: subprocess.Popen
    url: str
    rpc: Rpc
    w3: Web3

    def request(self, method, params=()):
        return self.rpc.request(method, list(params))

    def snapshot(self):
        return self.request("evm_snapshot")

    def revert(self, snap):
        if not self.request("evm_revert", [snap]):
            raise RuntimeError(f"anvil could not revert to snapshot {snap}")


@dataclass
class Keystore:
    alias: str
    address: str
    passphrase: str
    data_folder: Path

    def env(self, anvil: Anvil) -> dict:
        env = dict(os.environ)
        env.update({
            "APE_DATA_FOLDER": str(self.data_folder),
            f"APE_ACCOUNTS_{self.alias}_PASSPHRASE": self.passphrase,
            # ape-foundry connects to this running anvil instead of starting its own.
            "APE_FOUNDRY_HOST": anvil.url,
        })
        env.pop("ISOMARGIN_DEPLOY_CRASH_AT", None)
        return env


def fund(anvil: Anvil, address: str, eth: int = 100) -> None:
    anvil.request("anvil_setBalance", [address, hex(eth * 10**18)])


def ape_run(script: str, *args, anvil: Anvil, keystore: Keystore, env_extra=None, timeout=APE_RUN_TIMEOUT):
    """`ape run SCRIPT ARGS` against `anvil`, as a user would type it; returns the CompletedProcess."""
    ape = str(Path(sys.executable).parent / "ape")
    env = keystore.env(anvil)
    env.update(env_extra or {})
    cmd = [ape, "run", script, *args]
    if "--network" not in args and script == "deploy":
        cmd += ["--network", "ethereum:local:foundry"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def output(proc) -> str:
    return proc.stdout + proc.stderr


def ape_start(script: str, *args, anvil: Anvil, keystore: Keystore, env_extra=None) -> subprocess.Popen:
    """`ape run SCRIPT ARGS` left running (a service), its output in pipes."""
    ape = str(Path(sys.executable).parent / "ape")
    env = keystore.env(anvil)
    env.update(env_extra or {})
    return subprocess.Popen([ape, "run", script, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Lines:
    """A running process's stderr, read on a thread so a test can wait for
    a line with a time limit; `text()` is everything read so far."""

    def __init__(self, stream):
        import queue
        import threading

        self.seen, self._queue = [], queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, words: str, timeout: float) -> bool:
        import queue
        import time

        deadline = time.monotonic() + timeout
        while not any(words in line for line in self.seen):
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
        return True

    def text(self, timeout: float = 5) -> str:
        self._thread.join(timeout)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)
