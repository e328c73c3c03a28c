"""Addresses by rule: CREATE addresses and the harness's dev accounts."""
from functools import lru_cache
from typing import List

import rlp
from eth_utils import keccak, to_checksum_address


@lru_cache(maxsize=65536)
def create_address(sender: str, nonce: int) -> str:
    """The address a contract created by `sender` with `nonce` gets (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def dev_accounts(n: int) -> List[str]:
    """The in-process backends' accounts (revm, the offline model): fixed, so
    a run on one names the same addresses as a run on the other."""
    return [to_checksum_address(keccak(b"isomargin account %d" % i)[12:]) for i in range(n)]
