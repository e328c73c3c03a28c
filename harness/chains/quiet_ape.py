"""Running drills and the keeper through ape without drowning in its output.

Reverts are normal for a keeper (someone else liquidated first), but ape
reports each one loudly: an ERROR log when it cannot build a source
traceback on the in-process chain, and a full call trace printed to stdout
on anvil (slowly). Both are noise here, since the revert reason already
comes back to the caller; real errors still raise.
"""
import contextlib
import logging
import os
import sys

from .ape import ApeChain
from .chain import ChainError, TxResult
from .codec import revert_reason
from .rpc import RpcError


class _ExpectedRevertNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Problem retrieving traceback" not in record.getMessage()


def quiet_ape() -> None:
    """Only warnings and errors from ape, minus the per-revert traceback one."""
    from ape.logging import logger
    logger.set_level("WARNING")
    ape_logger = logging.getLogger("ape")
    if not any(isinstance(f, _ExpectedRevertNoise) for f in ape_logger.filters):
        ape_logger.addFilter(_ExpectedRevertNoise())


@contextlib.contextmanager
def _stdout_silenced():
    # ape's trace printer binds sys.stdout as a default argument at import,
    # so redirecting sys.stdout misses it: silence the file descriptor.
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


# Revert reasons that no block timestamp can change: an eth_call against the
# latest block gives the same answer the transaction would.
SETTLED_REVERTS = frozenset({"engine: position not open"})


class QuietApeChain(ApeChain):
    """ApeChain whose reverted transactions print no call trace, named after
    the full network choice (ecosystem:network:provider), so reports from
    the default chain and from anvil do not share a folder.

    On a node (anvil, not the in-process chain) ape answers a reverted
    transaction by fetching and printing its call trace, 0.2-1 s each; a
    keeper that lost a race would pay that for nothing. So a transaction is
    first tried as a raw eth_call (a few ms) at the block timestamp it is
    pinned to (anvil's block overrides), and one that reverts is reported
    with the call's reason without being sent: same state, same timestamp,
    same outcome. Without a pinned timestamp only reasons no timestamp can
    change (SETTLED_REVERTS) are taken from the call."""

    def __init__(self, accounts=None, preflight=None):
        super().__init__(accounts)
        provider = self.ape.chain.provider
        self.name = f"ape:{provider.network.ecosystem.name}:{provider.network.name}:{provider.name}"
        self.preflight = provider.name != "test" if preflight is None else preflight

    _next_timestamp = None

    def set_next_timestamp(self, timestamp):
        self._next_timestamp = timestamp
        super().set_next_timestamp(timestamp)

    def transact(self, address, contract, fn, args, sender):
        if self.preflight:
            reason = self._call_reason(address, contract, fn, args, sender)
            # At the pinned timestamp the call sees exactly what the
            # transaction would; without one, only a settled reason is final.
            if reason is not None and (self._next_timestamp is not None or reason in SETTLED_REVERTS):
                return TxResult(False, reason, None, 0)
        from ape.exceptions import ApeException
        try:
            with _stdout_silenced():
                return super().transact(address, contract, fn, args, sender)
        except (ApeException, OSError) as err:
            # Reverts came back as results above; anything else is the
            # client or the node failing, which callers retry (keeper.py).
            raise ChainError(f"{contract}.{fn}: {type(err).__name__}: {err}") from err

    def _call_reason(self, address, contract, fn, args, sender):
        """The revert reason of this call in the next block, or None."""
        # Raw JSON-RPC: ape's own eth_call would fetch a trace for the revert
        # too, which is the cost being avoided.
        from eth_utils import to_hex

        params = {"from": sender, "to": address, "data": to_hex(self.codec(contract)[fn].encode(args))}
        request = [params, "latest"]
        if self._next_timestamp is not None:
            request += [{}, {"time": hex(self._next_timestamp)}]
        try:
            reply = self.ape.chain.provider.web3.provider.make_request("eth_call", request)
        except Exception:  # noqa: BLE001 - the transaction itself will say
            return None
        data = RpcError(reply["error"]).revert_data if isinstance(reply.get("error"), dict) else None
        return revert_reason(data) if data else None
