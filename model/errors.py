"""A reverted call: the model's twin of an EVM revert with a reason string."""


class Revert(Exception):
    """`reason` is None for a revert without one: checked-arithmetic
    overflow, or a call to an address with no contract."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def require(condition: bool, reason: str) -> None:
    """The twin of Vyper's `assert condition, reason`."""
    if not condition:
        raise Revert(reason)


MAX_UINT256 = 2**256 - 1


def checked(value: int) -> int:
    """Vyper's checked uint256 arithmetic: out of range reverts, no reason."""
    if value < 0 or value > MAX_UINT256:
        raise Revert(None)
    return value
