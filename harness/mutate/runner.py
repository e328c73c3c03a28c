"""Baseline, then every mutant in its own sandbox copy, in parallel, each
under a time limit."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .mutant import Mutant, write_mutated
from .sandbox import Sandbox

# What the stateful fast path deploys; a mutant of anything else (a
# test-only mock) goes straight to the tests.
try:
    from harness.chains.artifacts import CONTRACT_NAMES as WORLD
except ImportError:  # the cache moved: assume everything is deployed
    WORLD = None

PYTEST = {
    "contract": [["tests/test_twins.py", "tests/unit"]],
    "model": [["tests/test_twins.py", "tests/model"]],
}


@dataclass
class Config:
    jobs: int = os.cpu_count() or 1
    timeout: Optional[float] = None          # seconds per mutant; None: from the baseline
    examples: int = 30                       # stateful fast path budget
    steps: int = 30
    unit: bool = True                        # run the pytest stage after the stateful one
    keep: bool = False
    venv: Path = field(default_factory=lambda: Path(sys.prefix))
    workdir: Optional[Path] = None


class BaselineFailed(RuntimeError):
    pass


class Runner:
    def __init__(self, root: Path, config: Config, log: Callable[[str], None] = print):
        self.root = root.resolve()
        self.cfg = config
        self.log = log
        self.sandbox = Sandbox(self.root, config.workdir, config.keep)
        self.baseline_file = self.sandbox.base / "baseline.json"
        self.baseline_timings: Dict[str, dict] = {}
        self._lock = threading.Lock()

    def close(self):
        self.sandbox.close()

    # ---------------------------------------------------------------- specs

    def _spec(self, kind: str, where: Path, mutant: Optional[Mutant]) -> dict:
        spec = {
            "progress": str(where / ".mutate-progress.json"),
            "result": str(where / ".mutate-result.json"),
            "baseline": str(self.baseline_file),
            "venv": str(self.cfg.venv),
            "stateful": {"examples": self.cfg.examples, "steps": self.cfg.steps},
            "pytest": PYTEST[kind] if self.cfg.unit else [],
        }
        if mutant is not None:
            # Tests that name the mutated function (or file) run first: with
            # -x a killable mutant then dies in seconds, not after the suite.
            spec["focus"] = [w for w in (mutant.extra.get("function"), Path(mutant.path).stem) if w]
        if mutant is not None and kind == "contract":
            spec["build"] = mutant.affects
            if WORLD is not None and not set(mutant.affects) & set(WORLD):
                spec["stateful"] = None
        return spec

    def _probe(self, where: Path, spec: dict, timeout: Optional[float]) -> dict:
        spec_path = where / ".mutate-spec.json"
        spec_path.write_text(json.dumps(spec))
        log_path = where / ".mutate-probe.log"
        t0 = time.perf_counter()
        with open(log_path, "w") as out:
            proc = subprocess.Popen([str(self.cfg.venv / "bin" / "python"), "-m", "harness.mutate.probe",
                                     str(spec_path)], cwd=where, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, env=_clean_env())
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # The probe leads its own process group (ape, pytest below it): end all of it.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                result = _read(spec["progress"]) or {}
                result.update(status="timeout", killed_by=None,
                              detail=f"over {timeout:.0f} s, in stage {result.get('stage')}")
                result["seconds"] = round(time.perf_counter() - t0, 1)
                return result
        result = _read(spec["result"])
        if result is None:
            tail = log_path.read_text()[-2000:]
            result = {"status": "error", "detail": f"probe exited {proc.returncode} without a verdict:\n{tail}"}
        result["seconds"] = round(time.perf_counter() - t0, 1)
        return result

    # ---------------------------------------------------------------- baseline

    def baseline(self, kind: str, deployables: List[str]) -> dict:
        """The unmutated tree must pass every stage, or every mutant would
        look killed. Also builds the artifacts mutants are compared with."""
        where = self.sandbox.copy(f"baseline-{kind}")
        spec = self._spec(kind, where, None)
        if kind == "contract" or not self.baseline_file.exists():
            spec["baseline_out"] = str(self.baseline_file)
            spec["deployables"] = deployables
        self.log(f"baseline ({kind}): building and running every stage on the unmutated tree ...")
        result = self._probe(where, spec, None)
        # Every later copy starts with the baseline's compile cache: a model
        # mutant (contracts untouched) then compiles nothing.
        built = where / ".build" / "harness"
        if built.is_dir():
            shutil.copytree(built, self.sandbox.template / ".build" / "harness", dirs_exist_ok=True)
        self.sandbox.discard(where)
        if result.get("status") != "survived":
            raise BaselineFailed(f"the unmutated tree does not pass ({result.get('status')}): "
                                 f"{result.get('killed_by')}: {result.get('detail')}")
        self.baseline_timings[kind] = result
        self.log(f"baseline ({kind}) passes in {result['seconds']} s {result['timings']}")
        return result

    def default_timeout(self, kind: str) -> float:
        if self.cfg.timeout:
            return self.cfg.timeout
        # Parallel probes share the cores: allow each a good multiple of the
        # time the baseline needed alone.
        base = self.baseline_timings.get(kind, {}).get("seconds", 300)
        return max(120.0, 3 * base)

    # ---------------------------------------------------------------- mutants

    def run(self, mutants: List[Mutant], on_result: Callable[[Mutant, dict], None] = None) -> List[dict]:
        results: List[dict] = [None] * len(mutants)
        done = [0]

        def one(i: int, m: Mutant) -> dict:
            where = self.sandbox.copy(f"m-{m.id}")
            try:
                write_mutated(where, m)
                return self._probe(where, self._spec(m.kind, where, m), self.default_timeout(m.kind))
            finally:
                self.sandbox.discard(where)

        with ThreadPoolExecutor(max_workers=max(1, self.cfg.jobs)) as pool:
            futures = {pool.submit(one, i, m): i for i, m in enumerate(mutants)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    r = fut.result()
                except Exception as err:  # a sandbox that could not be made: report, go on
                    r = {"status": "error", "detail": f"{type(err).__name__}: {err}"}
                results[i] = r
                with self._lock:
                    done[0] += 1
                    m = mutants[i]
                    self.log(f"[{done[0]}/{len(mutants)}] {m.id} {m.operator:20s} {m.where:38s} "
                             f"{r['status']:13s} {r.get('seconds', '')} s  {r.get('killed_by') or ''}")
                if on_result:
                    on_result(mutants[i], r)
        return results


def _read(path) -> Optional[dict]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _clean_env() -> dict:
    env = dict(os.environ)
    # The probe must import the copy's packages, not whatever launched it.
    env.pop("PYTHONPATH", None)
    return env
