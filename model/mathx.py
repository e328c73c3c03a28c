"""Integer helpers with the contracts' rounding. No floats anywhere."""


def mul_div(x: int, y: int, denominator: int, roundup: bool) -> int:
    """Twin of snekmate math._mul_div."""
    q, r = divmod(x * y, denominator)
    return q + 1 if roundup and r else q


def ceil_div(x: int, y: int) -> int:
    return -(-x // y)
