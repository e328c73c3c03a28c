"""Replay files: the state machine writes each failing sequence atomically
to latest.json and to a copy named for the test run; `ape run replay` on a
file it did not write says why in one line and exits 2 (issue 10, items 3
and 8)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.twin import replay_files
from harness.twin.replay_files import write_replay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import replay  # noqa: E402  (scripts/ is not a package)


def test_each_write_replaces_latest_and_this_run_s_copy_and_leaves_no_temporary(tmp_path):
    latest, copy = write_replay(tmp_path, json.dumps({"log": [["wait", 1]]}))
    assert copy.name == f"run-{replay_files.RUN_STAMP}.json"
    write_replay(tmp_path, json.dumps({"log": [["wait", 2]]}))
    assert json.loads(latest.read_text()) == json.loads(copy.read_text()) == {"log": [["wait", 2]]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([latest.name, copy.name])


@pytest.mark.parametrize("text, says", [
    ("{not json", "not JSON"),
    ('{"steps": 3}', 'no "log" list'),
    ('{"log": [["teleport", 1]]}', "log entry 0 is not one of adopt_feed, attackers, feed, send, timelock, wait"),
    ('{"log": [[]]}', "log entry 0 is not one of"),
])
def test_a_malformed_file_is_one_line_and_exit_2(tmp_path, capsys, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SystemExit) as exit_:
        replay.read_log(str(path))
    assert exit_.value.code == replay.MALFORMED == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"replay: {path}: ") and says in err


def test_ape_run_replay_on_a_malformed_file(tmp_path):
    """As the user types it: one line, exit 2, no traceback."""
    path = tmp_path / "bad.json"
    path.write_text('{"log": {"not": "a list"}}')
    ape = str(Path(sys.executable).parent / "ape")
    proc = subprocess.run([ape, "run", "replay", str(path), "--backend", "revm"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("replay: ")]
    assert lines == [f'replay: {path}: no "log" list; replay files are written by the stateful test '
                     f'(reports/replays/)'], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
