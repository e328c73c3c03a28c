"""The drill's fast scan finds exactly what the engine's rule finds."""
from hypothesis import given, settings, strategies as st

from harness.keeper.health import MarketView, TriggerCache, liquidatable
from model.risk import Position

U, P = 10**6, 10**8

positions = st.lists(st.tuples(
    st.booleans(),                                # is_long
    st.integers(10 * U, 50_000 * U),              # collateral
    st.integers(1, 600),                          # leverage x10 of collateral
    st.integers(100 * P, 100_000 * P),            # entry price
    st.integers(0, 10**12),                       # entry index
    st.sampled_from([100, 30_000, 50_000]),       # max profit bps
), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(positions, st.lists(st.integers(1, 200_000 * P), min_size=1, max_size=6),
       st.integers(0, 400_000_000_000), st.sampled_from([50, 100, 500, 2_000]), st.integers(1, 20_000))
def test_trigger_cache_agrees_with_the_exact_rule(raw, prices, rate, mm_bps, dt):
    book = []
    for i, (is_long, collateral, lev, entry, entry_index, max_profit) in enumerate(raw):
        size = max(collateral * lev // 10, 1)
        book.append(((i + 1) << 32 | 1, Position(owner="x", market_id=1, is_long=is_long, max_profit_bps=max_profit,
                                                 maintenance_margin_bps=mm_bps, generation=1, is_open=True, size=size, collateral=collateral,
                                                 entry_price=entry, entry_index=entry_index)))
    cache = TriggerCache(horizon=3 * dt)
    t0, index0 = 1_000, 10**12
    for k, price in enumerate(prices):
        t = t0 + k * dt                           # past the horizon now and then: triggers are rebuilt
        view = {1: MarketView(1, price, index0 + rate * (t - t0), mm_bps, None, t, rate)}
        assert cache.liquidatable(book, view) == liquidatable(book, view)
