"""Opening an existing deployment for a command that reads it (or, on a
devnet, moves its prices): its manifest, a node of its chain, and the
error lines and exit codes every such command shares.

The commands (`ape run position`, `health`, `positions`, `totals`,
`set-price`, `console`) are operators' tools: what goes wrong is almost
always the operator's setup (a path, a network, a node not started), so
each failure is one line on stderr and an exit code a script can branch
on, never a traceback. The codes follow the keeper's and the deploy's:

    0  done
    1  the deployment has no such thing: an unknown or closed position,
       an unknown market, or a view the contracts refuse (their reason is
       the line: "oracle: price is stale")
    2  a usage error: bad arguments, no manifest, a malformed manifest
    3  the account cannot sign (set-price)
    4  the wrong chain: the node is not the manifest's chain, or
       set-price on a chain that is not a local devnet
    6  no node: nothing answers at the network asked for, or a read
       fails half-way

(5 is the deploy's "not confirmed"; no command here asks.)
"""
import contextlib
import sys
from typing import Iterator, Optional

from ..chains.ape import no_node_hint, started_for_this_command
from ..chains.codec import revert_reason
from ..chains.rpc import Rpc, RpcError
from .manifest import Manifest, ManifestError

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_CANNOT_SIGN = 3
EXIT_WRONG_CHAIN = 4
EXIT_NO_NODE = 6

# What every command reads through: the Lens holds the health and totals
# views the engine has no room for; everything else the engine names itself.
REQUIRED_CONTRACTS = ("engine", "lens")


class CommandError(Exception):
    """A failure to report as one line; `code` is the exit code."""

    def __init__(self, line: str, code: int):
        super().__init__(line)
        self.code = code


def fail(prog: str, err: CommandError) -> None:
    import click

    click.echo(f"{prog}: {err}", err=True)
    sys.exit(err.code)


def load_manifest(path: Optional[str]) -> Manifest:
    """The manifest, checked for what the commands read before any node is
    asked: a deployment that stopped half-way has no lens yet, and saying
    so beats a KeyError."""
    if not path:
        raise CommandError("which deployment? --manifest deployments/<network>.json", EXIT_USAGE)
    try:
        m = Manifest.load(path)
        if not isinstance(m.data.get("contracts"), dict) or not isinstance(m.data.get("markets", {}), dict):
            raise ManifestError(f"{path}: malformed manifest: no 'contracts' and 'markets' objects")
        for key in REQUIRED_CONTRACTS:
            address = m.address(key)
            if not (isinstance(address, str) and address.startswith("0x") and len(address) == 42):
                raise ManifestError(f"{path}: malformed manifest: {key} address {address!r}")
        for symbol, market in m.markets.items():
            if not isinstance(market, dict) or not isinstance(market.get("market_id"), int):
                raise ManifestError(f"{path}: malformed manifest: market {symbol!r} has no market_id")
    except ManifestError as err:
        raise CommandError(str(err), EXIT_USAGE) from None
    except (AttributeError, TypeError) as err:
        raise CommandError(f"{path}: malformed manifest: {err}", EXIT_USAGE) from None
    return m


@contextlib.contextmanager
def connected(m: Manifest, network: Optional[str]) -> Iterator[Rpc]:
    """An Rpc to the network asked for (the manifest's by default), once
    it is known to be the manifest's chain: on another chain the
    manifest's addresses may hold other contracts, or nothing."""
    from ape import networks

    choice = network or m.data.get("network_choice")
    if not choice:
        raise CommandError(f"{m.path} records no network: pass --network", EXIT_USAGE)
    context = networks.parse_network_choice(choice)
    try:
        provider = context.__enter__()
    except Exception as err:  # ape raises its own types per provider and plugin
        raise CommandError(f"no node at {choice}: {_first_line(err)}", EXIT_NO_NODE) from None
    try:
        if started_for_this_command(provider):
            raise CommandError(f"no node at {choice}: {no_node_hint(provider)}", EXIT_NO_NODE)
        rpc = Rpc.ape(provider)
        try:
            chain_id = rpc.chain_id()
            genesis = rpc.block_hash(0) if m.data.get("genesis_hash") else None
        except RpcError as err:
            raise CommandError(f"no node at {choice}: {_first_line(err)}", EXIT_NO_NODE) from None
        problem = m.not_this_chain(chain_id, genesis)
        if problem:
            raise CommandError(f"not the manifest's chain: {problem}", EXIT_WRONG_CHAIN)
        yield rpc
    finally:
        context.__exit__(*sys.exc_info())


def refusal(err: RpcError) -> str:
    """The contract's own reason for a refused view call, in its words.
    Over ape the node's error object is gone by the time it reaches here
    (ape keeps only its message), so the reason is taken from that text."""
    data = err.revert_data
    reason = revert_reason(data) if data else None
    if reason:
        return reason
    text = _first_line(err)
    marker = "execution reverted: "
    return text[text.rindex(marker) + len(marker):] if marker in text else text


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def run(prog: str, manifest_path: Optional[str], network: Optional[str], job, before=None) -> None:
    """The whole life of a command: the manifest, a checked node, then
    `job(manifest, rpc)`, whose text (if any) is printed; every CommandError on the
    way is its one line and exit code. `before(manifest)` runs first, for
    what can be refused without asking a node. A read that fails half-way
    (the node gone, or no contract where the engine's views point) is "no
    node" too: what was read so far is not a report."""
    import click

    from ..chains.quiet_ape import quiet_ape

    quiet_ape()
    try:
        m = load_manifest(manifest_path)
        if before is not None:
            before(m)
        with connected(m, network) as rpc:
            try:
                text = job(m, rpc)
            except RpcError as err:
                raise CommandError(f"a read from the node failed: {_first_line(err)}", EXIT_NO_NODE) from None
    except CommandError as err:
        fail(prog, err)
    if text is not None:
        click.echo(text)


def deployment_options(command):
    """--manifest and --network, as `ape run audit` takes them: the network
    defaults to the one the manifest was deployed with."""
    import click

    command = click.option("--network", default=None,
                           help="ape network choice [default: the manifest's network_choice]")(command)
    return click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False),
                        help="the deployment: deployments/<network>.json")(command)
