"""Where the engine puts what it creates, and how much it reads a call."""
from ..chains.addresses import create_address

# Engine.MAX_PAGE: Engine.slots returns at most 100 slots a call.
PAGE = 100
# Lens.balances takes at most 1,024 holders a call.
LENS_PAGE = 1_000

# The engine creates, in its constructor, with its own nonces 1..5: the
# vault implementation, the insurance vault, the pool, the order book and
# the market rules (manifest key, contract, nonce, the engine's getter
# naming it). Vault slot v is then created with nonce 5 + v.
ENGINE_CREATES = (("vault_implementation", "Vault", 1, "VAULT_IMPLEMENTATION"),
                  ("insurance", "Vault", 2, "INSURANCE"),
                  ("pool", "LiquidityPool", 3, "POOL"),
                  ("orders", "OrderBook", 4, "ORDERS"),
                  ("rules", "MarketRules", 5, "RULES"))
ENGINE_NONCE_BEFORE_VAULTS = 5
# Engine.__init__'s arguments, in order: a manifest records them as a list.
ENGINE_ARGS = ("token", "vault_blueprint", "pool_blueprint", "orders_blueprint", "rules_blueprint", "guardian",
               "sequencer_feed", "sequencer_grace", "execution_fee", "redeem_fee_bps")


def engine_args(args) -> dict:
    """The engine's constructor arguments by name, from their list."""
    if len(args) != len(ENGINE_ARGS):
        raise ValueError(f"the engine takes {len(ENGINE_ARGS)} constructor arguments ({', '.join(ENGINE_ARGS)}), "
                         f"the manifest records {len(args)}: a deployment of another version")
    return dict(zip(ENGINE_ARGS, args))


def vault_address(engine: str, slot: int) -> str:
    """The vault of slot `slot` (1-based): a CREATE address of the engine."""
    return create_address(engine, ENGINE_NONCE_BEFORE_VAULTS + slot)


def slot_pages(count: int, page: int = PAGE):
    """(first, page) reads covering slots 1..count."""
    return [(first, page) for first in range(1, count + 1, page)]


def slot_windows(slots, page: int = PAGE):
    """(first, count) reads covering `slots`, each at most `page` long."""
    out = []
    for s in sorted(set(slots)):
        if out and s < out[-1][0] + page:
            first, _ = out[-1]
            out[-1] = (first, s - first + 1)
        else:
            out.append((s, 1))
    return out
