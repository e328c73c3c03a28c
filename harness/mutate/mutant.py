"""A mutant: one edit to one file, with an id that survives reruns.

The id hashes what the mutant *is* (file, operator, span, replacement), not
where it falls in a list, so the equivalents file keeps naming the same
mutant however many others appear or vanish around it. An edit elsewhere in
the same file that shifts offsets does change ids below it: the reviewed
entry then shows up as stale in --check output instead of silently
covering a different mutant.
"""
import difflib
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from .operators import Edit


@dataclass
class Mutant:
    kind: str               # "contract" or "model"
    path: str               # repository-relative, posix
    operator: str
    start: int
    end: int
    original: str
    replacement: str
    line: int
    col: int
    affects: List[str] = field(default_factory=list)   # deployables rebuilt for it (contracts)
    extra: dict = field(default_factory=dict)          # tool-specific detail (cosmic-ray's occurrence)

    @property
    def id(self) -> str:
        key = f"{self.path}|{self.operator}|{self.start}:{self.end}|{self.replacement}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}"

    def apply(self, text: str) -> str:
        if text[self.start:self.end] != self.original:
            raise ValueError(f"mutant {self.id}: {self.where} no longer reads {self.original!r}")
        return text[:self.start] + self.replacement + text[self.end:]

    def diff(self, text: str) -> str:
        after = self.apply(text)
        return "".join(difflib.unified_diff(text.splitlines(keepends=True), after.splitlines(keepends=True),
                                            f"a/{self.path}", f"b/{self.path}", n=1))

    def to_json(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Mutant":
        d = dict(d)
        d.pop("id", None)
        return cls(**d)


def from_edit(kind: str, path: str, text: str, edit: Edit, affects: Optional[List[str]] = None) -> Mutant:
    return Mutant(kind, path, edit.operator, edit.start, edit.end, text[edit.start:edit.end], edit.replacement,
                  edit.line, edit.col, sorted(affects or []))


def write_mutated(root: Path, mutant: Mutant) -> None:
    """Write the mutated file into a sandbox copy (never the real tree: the
    caller's `root` is a copy). Replace, not rewrite, so a hard-linked copy
    never writes through to its source."""
    target = root / mutant.path
    text = target.read_text()
    tmp = target.with_name(target.name + ".mutant.tmp")
    tmp.write_text(mutant.apply(text))
    tmp.replace(target)
