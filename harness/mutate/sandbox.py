"""Isolated copies of the repository.

A template copy holds the work tree as it is (tracked and untracked files,
nothing git ignores: no .build, reports, caches), with .venv and
node_modules linked, not copied. Each mutant gets a fresh copy of the
template, so nothing a probe writes (the mutated source, compile caches,
ape's .build, Hypothesis' database, replays) reaches the real tree or
another mutant.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, List

LINKED = (".venv", "node_modules")
# Never copied even outside git: what a run writes, and what is linked.
SKIPPED = {".git", ".build", ".cache", ".hypothesis", ".pytest_cache", "reports", "__pycache__", *LINKED}


def _listed_files(root: Path) -> List[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    except (OSError, subprocess.CalledProcessError):
        return [p.relative_to(root).as_posix() for p in root.rglob("*")
                if p.is_file() and not SKIPPED & set(p.relative_to(root).parts)]
    return [f for f in out.decode().split("\0") if f and not SKIPPED & set(Path(f).parts)]


class Sandbox:
    def __init__(self, root: Path, workdir: Path = None, keep: bool = False):
        self.root = root.resolve()
        self.keep = keep
        self.base = Path(tempfile.mkdtemp(prefix="isomargin-mutate-", dir=workdir))
        self.template = self.base / "template"
        self._make_template()

    def _make_template(self):
        for rel in _listed_files(self.root):
            src = self.root / rel
            if not src.is_file():
                continue          # deleted but still in the index
            dst = self.template / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        for name in LINKED:
            target = (self.root / name)
            if target.exists():
                os.symlink(target.resolve(), self.template / name)

    def copy(self, name: str) -> Path:
        dst = self.base / name
        shutil.copytree(self.template, dst, symlinks=True)
        return dst

    def discard(self, path: Path):
        if not self.keep:
            shutil.rmtree(path, ignore_errors=True)

    def close(self):
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
