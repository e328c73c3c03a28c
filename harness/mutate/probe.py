"""One mutant's trial, run inside its sandbox copy of the repository:

    python -m harness.mutate.probe SPEC.json

Run from the copy's root, so every import (harness, model, the artifact
cache under .build/) resolves inside the copy, never in the real tree.
Stages, each only if the one before let the mutant live:

1. build (contract mutants): the deployables that import the mutated file,
   through the harness's own compile cache; a compile error means the
   mutant is discarded, identical code (fingerprint.py) that it is
   equivalent;
2. the stateful machine's in-process fast path (revm + model,
   harness/twin/machine.py), derandomized, with a small budget and no
   shrinking (a mutant needs one failure, not the smallest);
3. pytest groups (`ape test ... -x`): the first failing test kills.

Writes progress to SPEC's "progress" file after each stage (so the parent
knows where a timed-out probe was) and the verdict to its "result" file.
"""
import json
import os
import re
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

from .fingerprint import fingerprint


def _write(path, body):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(body, indent=1))
    tmp.replace(path)


class Probe:
    def __init__(self, spec: dict):
        self.spec = spec
        self.root = Path.cwd()
        self.result = {"status": None, "stage": None, "killed_by": None, "detail": None, "timings": {}}
        self._t0 = time.perf_counter()

    def progress(self, stage):
        self.result["stage"] = stage
        _write(self.spec["progress"], self.result)

    def done(self, status, killed_by=None, detail=None):
        stage = self.result["stage"]
        if stage and stage not in self.result["timings"]:
            self.result["timings"][stage] = round(time.perf_counter() - self._t0, 2)
        self.result.update(status=status, killed_by=killed_by, detail=detail)
        _write(self.spec["result"], self.result)
        return self.result

    def timed(self, stage, fn):
        self.progress(stage)
        self._t0 = time.perf_counter()
        out = fn()
        self.result["timings"].setdefault(stage, round(time.perf_counter() - self._t0, 2))
        return out

    # ---------------------------------------------------------------- stages

    def run(self):
        spec = self.spec
        if spec.get("baseline_out"):
            self.timed("build", self.build_baseline)
        elif spec.get("build"):
            verdict = self.timed("build", self.build)
            if verdict:
                return verdict
        if spec.get("stateful"):
            verdict = self.timed("stateful", self.stateful)
            if verdict:
                return verdict
        for group in spec.get("pytest", []):
            verdict = self.timed("pytest:" + " ".join(group), lambda g=group: self.pytest(g))
            if verdict:
                return verdict
        return self.done("survived")

    def build(self):
        """Rebuild what the mutated file reaches; seed the cache with the
        baseline's artifacts for everything else (same code, new key: the
        cache key hashes every source, the mutated one included)."""
        from harness.chains import artifacts
        spec = self.spec
        baseline = json.loads(Path(spec["baseline"]).read_text())
        affects = spec["build"]
        self._seed(artifacts, baseline, affects)
        same = True
        for name in affects:
            try:
                art = _build(artifacts, self.root, name)
            except Exception as err:
                return self.done("not-compiling", None, f"{name}: {type(err).__name__}: {_first_line(err)}")
            if name in baseline and fingerprint(art) == fingerprint(baseline[name]):
                continue
            same = False
        if same:
            return self.done("equivalent", None, "identical bytecode (runtime, initcode without metadata, ABI): "
                             + ", ".join(affects))
        return None

    def build_baseline(self):
        from harness.chains import artifacts
        built = {name: _build(artifacts, self.root, name) for name in self.spec["deployables"]}
        _write(self.spec["baseline_out"], built)

    @staticmethod
    def _seed(artifacts, baseline, affects):
        digest = getattr(artifacts, "_sources_digest", None)
        cache = getattr(artifacts, "CACHE", None)
        if digest is None or cache is None:
            return            # the cache changed shape: everything is compiled, only slower
        key = digest()
        cache.mkdir(parents=True, exist_ok=True)
        for name in getattr(artifacts, "CONTRACT_NAMES", ()):
            if name in baseline and name not in affects:
                (cache / f"{name}-{key}.json").write_text(json.dumps(baseline[name]))

    def stateful(self):
        from hypothesis import HealthCheck, Phase, settings
        from harness.chains.revm import RevmChain
        from harness.twin.machine import run_machine

        cfg = self.spec["stateful"]
        s = settings(max_examples=cfg["examples"], stateful_step_count=cfg["steps"], deadline=None,
                     database=None, derandomize=True, suppress_health_check=list(HealthCheck),
                     phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False, print_blob=False)
        try:
            stats, elapsed = run_machine(RevmChain(n_accounts=20), s)
        except BaseException as err:  # noqa: B902: any failure of the machine kills the mutant
            if isinstance(err, KeyboardInterrupt):
                raise
            return self.done("killed", "stateful fast path (revm, harness.twin.machine)",
                             f"{type(err).__name__}: {_first_lines(err)}")
        self.result["stateful_steps"] = stats["steps"]
        return None

    def pytest(self, group):
        junit = self.root / ".mutate-junit.xml"
        junit.unlink(missing_ok=True)
        venv = Path(self.spec["venv"])
        env = dict(os.environ)
        env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), MPLBACKEND="Agg",
                   HYPOTHESIS_PROFILE=self.spec.get("hypothesis_profile", "dev"))
        cmd = [str(venv / "bin" / "ape"), "test", *_ordered(self.root, group, self.spec.get("focus") or []), "-x", "-q", "-p", "no:cacheprovider",
               f"--junitxml={junit}"]
        proc = subprocess.run(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if proc.returncode in (0, 5):
            return None
        failed = _first_failure(junit)
        if failed is None:
            tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
            return self.done("killed", "pytest " + " ".join(group) + " (no report)", tail)
        return self.done("killed", failed[0], failed[1])


def _ordered(root: Path, group, focus):
    """A group's entries in order, each directory's test files ranked by how
    often they name the focus words (the mutated function, then the file),
    pytest's own order among equals. Single files stay where they are: they
    are listed first because they are cheap."""
    if not focus:
        return list(group)
    words = [re.compile(r"\b" + re.escape(w.strip("_")) + r"\b", re.I) for w in focus]

    def score(path):
        text = path.read_text()
        return tuple(-len(w.findall(text)) - 100 * bool(w.search(path.name)) for w in words)

    out = []
    for entry in group:
        p = root / entry
        if not p.is_dir():
            out.append(entry)
            continue
        files = sorted(p.rglob("test_*.py"))
        ranked = sorted(enumerate(files), key=lambda ip: (score(ip[1]), ip[0]))
        out += [f.relative_to(root).as_posix() for _, f in ranked]
    return out


def _build(artifacts, root: Path, name: str) -> dict:
    if name in getattr(artifacts, "CONTRACT_NAMES", ()):
        return artifacts.artifact(name)
    # Not one the harness deploys (a test-only mock): compile it the same way.
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from .sources import search_paths
    contracts = root / "contracts"
    bundle = FilesystemInputBundle(search_paths(contracts))
    path = next(p for p in contracts.rglob(f"{name}.vy") if "modules" not in p.relative_to(contracts).parts)
    out = compile_from_file_input(bundle.load_file(path), input_bundle=bundle,
                                  output_formats=["abi", "bytecode", "bytecode_runtime"])
    return {"abi": out["abi"], "bytecode": out["bytecode"], "bytecode_runtime": out["bytecode_runtime"]}


def _first_failure(junit: Path):
    if not junit.exists():
        return None
    for case in ET.parse(junit).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None:
                cls = case.get("classname", "")
                path = cls.replace(".", "/")
                # classname is module[.Class]: turn the module part back into its file.
                parts = cls.split(".")
                for i in range(len(parts), 0, -1):
                    if Path("/".join(parts[:i]) + ".py").exists():
                        path = "/".join(parts[:i]) + ".py" + "".join("::" + p for p in parts[i:])
                        break
                msg = (bad.get("message") or bad.text or "").strip()
                return f"{path}::{case.get('name')}", msg.splitlines()[0][:300] if msg else ""
    return None


def _first_line(err) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else ""


def _first_lines(err, n=4) -> str:
    text = str(err).strip()
    return " | ".join(line.strip() for line in text.splitlines()[:n])[:500]


def main(argv):
    spec = json.loads(Path(argv[1]).read_text())
    probe = Probe(spec)
    try:
        probe.run()
    except Exception:
        probe.done("error", None, traceback.format_exc()[-2000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
