"""What the peer benchmarks' tables share: a measurement over rounds as a
min-max range, and the per-round ratios of one side over another."""


def span(values, fmt):
    """`values` as `min-max` in `fmt` (one number when they print alike)."""
    if not values:
        return "-"
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low}-{high}"


def ratio(side, peer):
    """The range of `side / peer`, round by round, as `0.80-1.05x`."""
    pairs = [d / p for d, p in zip(side, peer) if p]
    return span(pairs, "{:.2f}") + "x" if pairs else "-"
