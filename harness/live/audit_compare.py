"""The audit's second half: the chain's state at the audited block against
the replayed model's, field by field, the chain's own vault invariant, and
every contract's code against this checkout's compiled sources."""
from model import MarketParams
from model.positions import GEN_BITS, PositionView

from ..chains.rpc import Rpc, RpcError
from ..protocol.layout import engine_args
from ..protocol.snapshot import MARKET_STATE_FIELDS, ChainState, model_market_state
from .audit_replay import Replayer
from .audit_report import Discrepancy, Report, _show
from .bytecode import check_code, expected_code, proxy_code, proxy_target
from .manifest import Manifest

TOTALS_FIELDS = ("pool_assets", "pool_shares", "total_reserved", "insurance_assets", "open_positions", "vault_count",
                 "market_count", "paused")
# Engine.PositionView's fields, in order: the model's own dataclass names them.
VIEW_FIELDS = tuple(PositionView.__dataclass_fields__)


def _where(replayer: Replayer, key, fallback: str = "") -> str:
    if key in replayer.diverged:
        return f"first diverged at {replayer.diverged[key]}"
    last = replayer.last_event.get(key)
    if last is not None:
        return (f"no event explains it: the chain changed after {last.ref()} "
                "(state written outside the contracts' rules?)")
    return fallback or "no event explains it (state written outside the contracts' rules?)"


def compare_state(r: Replayer, state: ChainState, pending_owner: str, report: Report) -> None:
    """The replayed model against the chain's snapshot: totals, roles,
    markets, every slot, every protocol balance and LP share; and the
    chain's own invariant that a vault holds exactly its position's collateral."""
    eng, pool = r.engine, r.pool

    def flag(kind, subject, fld, model, chain, where, **kw):
        report.discrepancies.append(Discrepancy(kind, subject, fld, model, chain, where, **kw))

    # Totals, owner, guardian.
    model_totals = eng.totals(pool.totalSupply())
    for name, mv, cv in zip(TOTALS_FIELDS, model_totals.__dict__.values(), state.totals):
        if mv != cv:
            subject = {"pool_assets": "pool", "pool_shares": "pool", "insurance_assets": "insurance fund"}.get(
                name, "engine")
            flag("state", subject, f"totals.{name}", mv, cv, _where(r, subject))
    for fn, cv in (("owner", state.owner), ("pending_owner", pending_owner), ("guardian", state.guardian)):
        if getattr(eng, fn) != cv:
            flag("state", "engine", fn, getattr(eng, fn), cv, _where(r, "engine"))

    # Markets.
    n_markets = max(eng.market_count, state.totals[6])
    report.stats["markets"] = n_markets
    for market_id in range(1, n_markets + 1):
        subject = f"market {market_id}"
        cs = state.market_states[market_id - 1]
        st = eng.market_state(market_id)
        for name, mv, cv in zip(MARKET_STATE_FIELDS, model_market_state(st), cs):
            if mv != cv:
                flag("state", subject, f"market_state.{name}", mv, cv, _where(r, ("market", market_id)))
        cp = state.market_params[market_id - 1]
        mp = eng.market_params(market_id)
        mp_tuple = mp.as_tuple() if mp is not None else (0,) * 11
        for name, mv, cv in zip(MarketParams.__dataclass_fields__, mp_tuple, cp):
            if mv != cv:
                flag("state", subject, f"market_params.{name}", mv, cv, _where(r, ("market", market_id)))

    # Vault slots: every position, field by field.
    n_slots = max(eng.vault_count, len(state.slots))
    report.stats["slots"] = len(state.slots)
    report.stats["open_positions"] = sum(1 for s in state.slots if s[3])
    for slot in range(1, n_slots + 1):
        mv = eng._view(slot)
        cv = state.slots[slot - 1] if slot <= len(state.slots) else None
        mt = tuple(mv.__dict__.values())
        if cv is not None and mt == tuple(cv):
            continue
        pos = eng.slots_[slot]
        pid = (slot << GEN_BITS) | pos.generation if pos.generation else None
        subject = f"position {pid}" if pid else f"vault slot {slot}"
        if pid:
            report.subjects[subject] = r.describe_position(pid)
        if cv is None:
            flag("state", subject, "slot", "exists", "missing", _where(r, ("slot", slot)), position_id=pid, slot=slot)
            continue
        for name, a, b in zip(VIEW_FIELDS, mt, cv):
            if a != b:
                flag("state", subject, name, a, b, _where(r, ("slot", slot)), position_id=pid, slot=slot,
                     address=r.vault_address(slot))

    # Balances of every protocol address, model against chain.
    chain_bal = state.balances
    report.stats["balances"] = len(chain_bal)
    for holder in chain_bal:
        mv, cv = r.token.balanceOf[holder], chain_bal[holder]
        if mv != cv:
            subject, pid, slot = r.subject_of(holder)
            key = ("slot", slot) if slot else subject
            flag("balance", subject, f"token balance of {holder}", mv, cv, _where(r, key), position_id=pid,
                 slot=slot, address=holder)
    # LP shares of everyone the log shows holding some.
    chain_shares = state.shares
    for lp in chain_shares:
        if pool.shares.balanceOf[lp] != chain_shares[lp]:
            flag("balance", "pool", f"LP shares of {lp}", pool.shares.balanceOf[lp], chain_shares[lp], _where(r, "pool"))

    # The chain's own invariant, model or not: a vault holds exactly its open
    # position's collateral, what was donated into it since its last exit
    # (an exit sweeps the rest to the pool), and what an exit found frozen
    # in it (a vault the token refused: VaultFrozen).
    for view in state.slots:
        slot, vault, is_open, collateral = view[1], view[2], view[3], view[8]
        held = chain_bal.get(vault, 0)
        accounted = (collateral if is_open else 0) + r.donated.get(vault, 0) + r.frozen.get(vault, 0)
        if held != accounted:
            pid = view[0] if is_open else None
            subject = f"position {pid}" if pid else f"vault slot {slot}"
            what = (f"vault {vault} holds {_show(held)} tokens; its open position accounts for {_show(accounted)}"
                    if is_open else f"vault {vault} holds {_show(held)} tokens but slot {slot} has no open position")
            flag("invariant", subject, what, None, None, _where(r, ("slot", slot)), position_id=pid, slot=slot,
                 address=vault)


def check_code_of(r: Replayer, state: ChainState, rpc: Rpc, report: Report, m: Manifest, token: str, impl: str,
                  block: int) -> None:
    """Every contract of the deployment, and every vault, against the code
    this checkout compiles to (bytecode.py)."""
    engine = r.engine_address
    checks = 0

    def flag(subject, fld, where="", **kw):
        report.discrepancies.append(Discrepancy("code", subject, fld, None, None, where, **kw))

    def code(address):
        return rpc.code(address, block)

    expected = expected_code(engine, token, r.pool_address, r.insurance, impl, r.orders_address,
                             engine_args(m.contracts["engine"]["args"])["sequencer_feed"], r.rules_address)
    expected["lens"] = ("Lens", {})
    if "timelock" in m.contracts:
        # The engine's owner: swapped code would be an owner without the delay.
        expected["timelock"] = ("Timelock", {})
    if "token" in m.contracts and m.contracts["token"].get("contract") == "MockUSDC":
        expected["token"] = ("MockUSDC", {})
    for key, entry in m.contracts.items():
        if key.startswith("feed:") and entry.get("contract") == "MockAggregator":
            expected[key] = ("MockAggregator", {})
    for key, (contract, imm) in expected.items():
        address = m.address(key)
        checks += 1
        for problem in check_code(code(address), contract, imm):
            subject = "vault implementation (every position's vault)" if key == "vault_implementation" else key
            flag(subject, f"{address}: {problem}")
    # Every vault, and the insurance fund, is the proxy of the manifest's implementation.
    want = proxy_code(impl)
    vaults = [(r.insurance, "insurance fund", None, None)]
    for view in state.slots:
        slot = view[1]
        pid = view[0] if view[3] else None
        vaults.append((view[2], f"position {pid}" if pid else f"vault slot {slot}", pid, slot))
    for address, subject, pid, slot in vaults:
        checks += 1
        got = code(address)
        if got != want:
            target = proxy_target(got)
            what = (f"vault {address} is a minimal proxy of {target}, not of the implementation {impl}" if target
                    else f"vault {address} code is not the minimal proxy of {impl} ({len(got)} bytes)")
            flag(subject, what, position_id=pid, slot=slot, address=address)
            continue
        try:
            got_engine = rpc.call(address, "Vault", "ENGINE", block=block)
            got_token = rpc.call(address, "Vault", "TOKEN", block=block)
        except RpcError as err:
            flag(subject, f"vault {address}: reading ENGINE/TOKEN through the proxy failed: {err}", position_id=pid,
                 slot=slot, address=address)
            continue
        if (got_engine, got_token) != (engine, token):
            flag(subject, f"vault {address} answers ENGINE {got_engine}, TOKEN {got_token}; expected {engine}, "
                          f"{token}", position_id=pid, slot=slot, address=address)
    report.stats["code_checks"] = checks
