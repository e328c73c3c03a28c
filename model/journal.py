"""All-or-nothing state changes, as the EVM gives them.

Every model contract keeps its state in journaled attributes and mappings.
A call marked @external that raises Revert undoes every write made since it
began, nested calls included, so model functions can check, write and check
again in the same order as their Vyper twins.
"""
from contextlib import contextmanager
from functools import wraps

_MISSING = object()


class Journal:
    __slots__ = ("log", "depth")

    def __init__(self):
        self.log = []
        self.depth = 0

    def begin(self) -> int:
        """Open a savepoint: from now on every write is journaled."""
        self.depth += 1
        return len(self.log)

    def commit(self) -> None:
        """Close the innermost savepoint and keep what happened inside it."""
        self.depth -= 1
        if self.depth == 0:
            self.log.clear()

    def undo(self, mark: int) -> None:
        """Undo everything since begin() returned `mark`, even successes."""
        self.rollback(mark)
        self.depth -= 1
        if self.depth == 0:
            self.log.clear()

    @contextmanager
    def savepoint(self):
        """What-if runs: whatever happens inside is undone on leaving."""
        mark = self.begin()
        try:
            yield
        finally:
            self.undo(mark)

    def rollback(self, mark: int) -> None:
        log = self.log
        while len(log) > mark:
            target, key, old, is_attr = log.pop()
            if is_attr:
                if old is _MISSING:
                    object.__delattr__(target, key)
                else:
                    object.__setattr__(target, key, old)
            elif old is _MISSING:
                dict.pop(target, key, None)
            else:
                dict.__setitem__(target, key, old)


class Mapping(dict):
    """A storage HashMap: missing keys read as the type's default."""

    __slots__ = ("_journal", "_default")

    def __init__(self, journal: Journal, default=0):
        super().__init__()
        self._journal = journal
        self._default = default

    def __missing__(self, key):
        return self._default

    def __setitem__(self, key, value):
        j = self._journal
        if j.depth:
            j.log.append((self, key, dict.get(self, key, _MISSING), False))
        dict.__setitem__(self, key, value)


class Contract:
    """Base of model contracts: attribute writes are journaled."""

    def __init__(self, journal: Journal):
        object.__setattr__(self, "_journal", journal)

    def mapping(self, default=0) -> Mapping:
        return Mapping(self._journal, default)

    def __setattr__(self, name, value):
        j = self._journal
        if j.depth:
            j.log.append((self, name, self.__dict__.get(name, _MISSING), True))
        object.__setattr__(self, name, value)


def external(fn):
    """Run a model call as a transaction: on Revert, undo all its writes."""

    @wraps(fn)
    def call(self, *args, **kwargs):
        j = self._journal
        mark = len(j.log)
        j.depth += 1
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            j.rollback(mark)
            raise
        finally:
            j.depth -= 1
            if j.depth == 0:
                j.log.clear()

    return call
