"""What a drill drives: the protocol on a chain with its model alongside
(DrillTwin), or the model alone (ModelTwin, the offline mode).

Both offer the same calls (send, wait, add_feed, check) and the same clock,
so a drill runs the same code either way and, chain or not, gets the same
figures: the model is the chain's exact twin.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional

from model import Protocol, Revert

from ..chains.addresses import dev_accounts
from ..chains.chain import Chain, ChainError, TxResult
from ..protocol.markets import EXECUTION_FEE
from ..protocol.snapshot import ChainState
from ..twin.twin import START_TIME, Disagreement, Twin


class DrillTwin(Twin):
    """A Twin sized for drills: reads any number of positions, and lets a
    transaction fail in the client without leaving the model ahead."""

    measures_gas = True
    checks_chain = True

    @property
    def label(self) -> str:
        return self.chain.name

    @property
    def accounts(self):
        return self.chain.accounts

    @property
    def gas_source(self) -> str:
        # pyrevm keeps one journal across message calls, so slots touched by
        # an earlier transaction stay warm: its gas understates a node's.
        if self.chain.name == "revm":
            return "revm message calls (understated: storage stays warm between transactions)"
        return "transaction receipts"

    def send_atomic(self, target: str, fn: str, args, sender: str, seconds: int = 1) -> TxResult:
        """`send`, except that a ChainError (the client failed, not the
        contract) undoes the model's side too, so the call can be retried."""
        journal = self.model.journal
        mark = journal.begin()
        saved = (self.clock, self.step, self.last_action, len(self.log), self.model.env.timestamp)
        try:
            out = self.send(target, fn, args, sender, seconds)
        except ChainError:
            journal.undo(mark)
            self.clock, self.step, self.last_action, log_len, self.model.env.timestamp = saved
            del self.log[log_len:]
            raise
        except BaseException:
            journal.commit()
            raise
        journal.commit()
        return out

    def adopt(self, target: str, fn: str, args, sender: str, seconds: int = 1) -> TxResult:
        """The chain ran this call although its client reported an error:
        run it on the model alone, at the time it ran on chain."""
        self.step += 1
        self.last_action = f"{target}.{fn}{tuple(args)!r} (adopted after a client error)"
        self.log.append(("send", target, fn, [self.symbolic(a) for a in args], self.symbolic(sender), seconds))
        # The chain already mined a block at clock + seconds: never pin it again.
        self.clock += seconds
        self.model.env.timestamp = self.clock
        try:
            value = getattr(self.targets[target].model, fn)(*args, sender=sender)
        except Revert as err:
            raise Disagreement(self.step, self.last_action, "outcome", f"revert {err.reason!r}", "success") from None
        return TxResult(True, None, value, None)

    def position_is_open(self, position_id: int) -> bool:
        d = self.deployment
        return bool(self.chain.call(d.engine, "Engine", "position", [position_id])[3])


@dataclass
class ModelDeployment:
    deployer: str
    guardian: str
    token: str = "token"
    engine: str = "engine"
    pool: str = "pool"
    insurance: str = "insurance"
    orders: str = "orders"
    feeds: Dict[str, str] = field(default_factory=dict)

    def vault_address(self, slot: int) -> str:
        return f"vault:{slot}"


class ModelTwin:
    """The offline drill: the model alone, with a Twin's interface and clock."""

    measures_gas = False
    checks_chain = False
    label = "model"
    gas_source = None
    # deploy_core sends six transactions, one second apart, before the
    # model exists: start the clock where a Twin's would be.
    DEPLOY_TXS = 6

    def __init__(self, n_accounts: int, timestamp: int = START_TIME):
        self.accounts = dev_accounts(n_accounts)
        self.clock = timestamp + self.DEPLOY_TXS
        self.step = 0
        self.last_action = "deploy"
        self.deployment = ModelDeployment(self.accounts[0], self.accounts[1])
        self.model = Protocol(deployer=self.accounts[0], guardian=self.accounts[1], timestamp=self.clock,
                              execution_fee=EXECUTION_FEE)
        self.targets = {"token": self.model.token, "engine": self.model.engine, "pool": self.model.pool,
                        "orders": self.model.orders}

    def tick(self, seconds: int = 1) -> None:
        self.clock += seconds
        self.model.env.timestamp = self.clock

    def wait(self, seconds: int) -> None:
        self.clock += seconds

    def add_feed(self, symbol: str, decimals: int, answer: int) -> str:
        self.tick()
        address = f"feed:{symbol}"
        self.model.add_feed(address, decimals, answer)
        self.deployment.feeds[symbol] = address
        self.targets[f"feed:{symbol}"] = self.model.engine.feeds[address]
        return address

    def send(self, target: str, fn: str, args, sender: str, seconds: int = 1) -> TxResult:
        self.step += 1
        self.tick(seconds)
        try:
            return TxResult(True, None, getattr(self.targets[target], fn)(*args, sender=sender), None)
        except Revert as err:
            return TxResult(False, err.reason, None, None)

    send_atomic = send

    def check(self) -> Optional[ChainState]:
        return None

    def read_chain(self) -> Optional[ChainState]:
        return None


def drill_chain(backend: str, accounts: int, rpc_url: Optional[str] = None) -> Optional[Chain]:
    """The chain a drill runs on: none for `model`, revm in process for
    `revm`, raw JSON-RPC for `rpc` (the node at `rpc_url`, its unlocked
    accounts signing, or else a fresh anvil from node_modules with enough
    accounts, stopped when the process exits), else the network ape is
    connected to (quietly: one INFO line per transaction would bury the
    progress bar). ValueError if it has fewer than `accounts` accounts."""
    if backend == "model":
        return None
    if backend == "revm":
        from ..chains.revm import RevmChain
        return RevmChain(n_accounts=accounts)
    if backend == "rpc":
        return _rpc_chain(accounts, rpc_url)
    from ..chains.quiet_ape import QuietApeChain, quiet_ape
    quiet_ape()
    chain = QuietApeChain()
    if len(chain.accounts) < accounts:
        raise ValueError(f"the scenario needs {accounts} accounts; the network has {len(chain.accounts)} "
                         "(ape-config.yaml test.number_of_accounts), use fewer traders.accounts")
    return chain


def _rpc_chain(accounts: int, rpc_url: Optional[str]) -> Chain:
    import atexit

    from ..chains.anvil import start_anvil
    from ..chains.rpc import RpcError
    from ..chains.rpc_chain import RpcChain
    if rpc_url is None:
        try:
            node = start_anvil("--accounts", str(max(accounts, 10)), "--balance", "1000000", "--hardfork", "prague")
        except RuntimeError as err:
            raise ValueError(str(err))
        atexit.register(node.stop)
        rpc_url = node.url
    try:
        chain = RpcChain(rpc_url)
    except (RpcError, OSError) as err:
        raise ValueError(f"no JSON-RPC node at {rpc_url}: {err}")
    if len(chain.accounts) < accounts:
        raise ValueError(f"the scenario needs {accounts} accounts; the node at {rpc_url} unlocks "
                         f"{len(chain.accounts)} (anvil --accounts N), use fewer traders.accounts")
    return chain


def make_driver(backend: str, n_accounts: int, chain: Optional[Chain] = None):
    """`model`: ModelTwin; otherwise a DrillTwin on `chain`."""
    if backend == "model":
        return ModelTwin(n_accounts)
    if chain is None:
        raise ValueError(f"backend {backend!r} needs a chain")
    if len(chain.accounts) < n_accounts:
        raise ValueError(f"the scenario needs {n_accounts} accounts; {chain.name} has {len(chain.accounts)}")
    return DrillTwin(chain)
