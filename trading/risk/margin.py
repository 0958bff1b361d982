"""Deribit standard margin for short options, per contract in coin (DERIBIT.md §3.8).

``S`` is the index price and ``OTM`` the amount out of the money in USD. Long options need no
margin beyond the premium paid. Checked against real short positions from ``get_positions``.
"""

from __future__ import annotations


def short_call_im_coin(*, strike_usd: float, index_usd: float, mark_coin: float) -> float:
    """IM = max(0.15 - OTM/S, 0.1) + mark."""
    otm = max(strike_usd - index_usd, 0.0)
    return max(0.15 - otm / index_usd, 0.1) + mark_coin


def short_call_mm_coin(*, mark_coin: float) -> float:
    """MM = 0.075 + mark."""
    return 0.075 + mark_coin


def short_put_mm_coin(*, mark_coin: float) -> float:
    """MM = max(0.075, 0.075 x mark) + mark."""
    return max(0.075, 0.075 * mark_coin) + mark_coin


def short_put_im_coin(*, strike_usd: float, index_usd: float, mark_coin: float) -> float:
    """IM = max(max(0.15 - OTM/S, 0.1) + mark, MM)."""
    otm = max(index_usd - strike_usd, 0.0)
    return max(max(0.15 - otm / index_usd, 0.1) + mark_coin, short_put_mm_coin(mark_coin=mark_coin))


def short_option_im_coin(*, option_type: str, strike_usd: float, index_usd: float, mark_coin: float) -> float:
    """Initial margin of one short contract, coin."""
    if option_type == "call":
        return short_call_im_coin(strike_usd=strike_usd, index_usd=index_usd, mark_coin=mark_coin)
    return short_put_im_coin(strike_usd=strike_usd, index_usd=index_usd, mark_coin=mark_coin)


def short_option_mm_coin(*, option_type: str, mark_coin: float) -> float:
    """Maintenance margin of one short contract, coin."""
    if option_type == "call":
        return short_call_mm_coin(mark_coin=mark_coin)
    return short_put_mm_coin(mark_coin=mark_coin)
