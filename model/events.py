"""Events: the model's twin of Vyper's `event` declarations and `log`.

Each contract event is a frozen dataclass subclassing Event, with the
contract's name and fields in the ABI's order (indexed or not: the model
keeps no topics). A contract emits through Contract._emit, which appends to
its Journal's one ordered log of every contract's events; a reverted call
takes its events with it, as the EVM drops a reverted frame's logs.
"""
from typing import NamedTuple


class Event:
    """Base of every model event; fields are declared by the dataclass."""
    __slots__ = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    def args(self) -> dict:
        """The fields by name, as an indexer decodes a log's arguments."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


class Emitted(NamedTuple):
    """One log entry: the emitting contract's address and its event."""
    address: str
    event: Event

    @property
    def name(self) -> str:
        return type(self.event).__name__
