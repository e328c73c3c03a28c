"""All-or-nothing state changes, as the EVM gives them.

Every model contract keeps its state in journaled attributes and mappings.
A call marked @external that raises Revert undoes every write made since it
began, nested calls included, so model functions can check, write and check
again in the same order as their Vyper twins.
"""
from contextlib import contextmanager
from functools import wraps

from .events import Emitted, Event

_MISSING = object()
# The kind of an undo entry that removes an event rather than restoring a
# value (attribute entries are True, mapping entries False).
_EVENT = None


class Journal:
    """The undo log of one deployment's contracts, and their event log.

    `events` is every event every contract sharing this journal emitted,
    in order, as Emitted(address, event); a reverted call leaves none.
    `record_events=False` keeps no log (events is None): for long
    simulations, where half a million live events cost memory and GC time.
    """
    __slots__ = ("log", "depth", "events")

    def __init__(self, record_events: bool = True):
        self.log = []
        self.depth = 0
        self.events = [] if record_events else None

    def emit(self, address: str, event: Event) -> None:
        """Twin of `log`: append to the event log, undone with the call."""
        if self.events is None:
            return
        if self.depth:
            self.log.append((self.events, None, None, _EVENT))
        self.events.append(Emitted(address, event))

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
            if is_attr is _EVENT:
                target.pop()
            elif is_attr:
                if old is _MISSING:
                    object.__delattr__(target, key)
                else:
                    object.__setattr__(target, key, old)
            elif old is _MISSING:
                dict.pop(target, key, None)
            else:
                dict.__setitem__(target, key, old)


class Mapping(dict):
    """A storage HashMap: missing keys read as the type's default.

    `arity` is how many keys its public getter takes on chain (a nested
    HashMap is keyed here by a tuple): what the twin test compares."""

    __slots__ = ("_journal", "_default", "arity")

    def __init__(self, journal: Journal, default=0, arity: int = 1):
        super().__init__()
        self._journal = journal
        self._default = default
        self.arity = arity

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

    def mapping(self, default=0, arity: int = 1) -> Mapping:
        """A journaled HashMap for this contract's state: `default` for keys never written;
        `arity`, how many keys its getter takes on chain (a nested HashMap, keyed by tuple)."""
        return Mapping(self._journal, default, arity)

    def _emit(self, event: Event) -> None:
        """Twin of `log Event(...)`, from this contract's address."""
        # Journal.emit, inlined: every transfer logs, so this is a hot path.
        j = self._journal
        events = j.events
        if events is None:
            return
        if j.depth:
            j.log.append((events, None, None, _EVENT))
        events.append(Emitted(self.address, event))

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
