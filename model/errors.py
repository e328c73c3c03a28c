"""A reverted call: the model's twin of an EVM revert with a reason string."""


class Revert(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def require(condition: bool, reason: str) -> None:
    """The twin of Vyper's `assert condition, reason`."""
    if not condition:
        raise Revert(reason)
