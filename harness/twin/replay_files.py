"""Where the state machine leaves a failing sequence for `ape run replay`.

Hypothesis calls the machine's teardown on every failing example while it
shrinks, and replays the shrunk one last, so each write replaces the last.
Two files get each write: `latest.json`, and a copy named for this test
run's start (`run-<UTC time>.json`), so a later run's failure does not
overwrite this one's. Both are written atomically (a temporary file, then a
rename), so a reader never sees half a file, even if the run is killed.
"""
import os
import tempfile
import time
from pathlib import Path

RUN_STAMP = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _atomic_write(path: Path, body: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_replay(directory: Path, body: str) -> tuple:
    """Write `body` as latest.json and as this run's copy: (latest, copy)."""
    directory.mkdir(parents=True, exist_ok=True)
    latest, copy = directory / "latest.json", directory / f"run-{RUN_STAMP}.json"
    _atomic_write(latest, body)
    _atomic_write(copy, body)
    return latest, copy
