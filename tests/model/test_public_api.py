"""The model's public API documents itself: every public method of the classes a user
drives (README, "Using the model alone") has a docstring, seen at run time, so a
decorator that dropped them (journal.external wraps with functools.wraps) fails too."""
import inspect

import pytest

from model import Engine, OrderBook, Protocol


def _public(cls):
    """Public methods and properties, inherited ones included (Ownable's, Contract's)."""
    return sorted(n for n in dir(cls) if not n.startswith("_")
                  and (callable(getattr(cls, n)) or isinstance(inspect.getattr_static(cls, n), property)))


@pytest.mark.parametrize("cls", [Engine, OrderBook, Protocol], ids=lambda c: c.__name__)
def test_every_public_method_has_a_docstring(cls):
    assert cls.__dict__.get("__doc__"), cls.__name__        # its own, not a base class's
    names = _public(cls)
    assert {"liquidate", "request_open", "add_feed"} & set(names)      # the walk found the methods
    assert [n for n in names if not inspect.getdoc(getattr(cls, n))] == []

