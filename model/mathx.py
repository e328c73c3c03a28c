"""Integer helpers with the contracts' rounding. No floats anywhere."""


from .errors import Revert

MAX_UINT256 = 2**256 - 1


def mul_div(x: int, y: int, denominator: int, roundup: bool) -> int:
    """Twin of snekmate math._mul_div (512-bit product, result must fit)."""
    q, r = divmod(x * y, denominator)
    q = q + 1 if roundup and r else q
    if q > MAX_UINT256:
        raise Revert("math: mul_div overflow")
    return q


def ceil_div(x: int, y: int) -> int:
    return -(-x // y)
