"""The engine's position events through ape's provider, for the standalone keeper."""
from ..chains.chain import ChainError
from .chain_source import EngineEvent


class ApeEngineEvents:
    """The engine's position events through ape's provider (any network):
    eth_getLogs on the engine's address for the three events, in the block
    range asked."""

    NAMES = ("PositionOpened", "PositionClosed", "PositionLiquidated")

    def __init__(self, engine: str):
        import ape
        from ape.types import LogFilter
        from eth_utils import keccak

        self.ape, self.engine, self._LogFilter = ape, engine, LogFilter
        self.abis = [e for e in ape.project.Engine.contract_type.events if e.name in self.NAMES]
        self.topics = ["0x" + keccak(text=e.selector).hex() for e in self.abis]

    def head(self) -> int:
        return self.ape.chain.blocks.height

    def fetch(self, from_block: int, to_block: int):
        from ape.exceptions import ApeException

        f = self._LogFilter(addresses=[self.engine], events=self.abis, topic_filter=[self.topics],
                            start_block=from_block, stop_block=to_block)
        try:
            logs = list(self.ape.chain.provider.get_contract_logs(f))
        except (ApeException, OSError, ValueError) as err:
            raise ChainError(f"eth_getLogs {from_block}..{to_block} failed: {err}") from err
        out = []
        for log in logs:
            args = dict(log.event_arguments)
            out.append(EngineEvent(log.block_number, log.log_index, log.event_name, int(args["position_id"]),
                                   args.get("liquidator"),
                                   {k: v for k, v in args.items() if k not in ("position_id", "liquidator")}))
        return out
