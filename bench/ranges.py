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
    ratios = pairs(side, peer)
    return span(ratios, "{:.2f}") + "x" if ratios else "-"


def pairs(side, peer):
    """The per-round ratios of `side` over `peer`."""
    return [d / p for d, p in zip(side, peer) if p]


def verdict(ratios, goal):
    """Whether the per-round `ratios` meet `goal`: in every round, in some,
    or in none (with the range measured)."""
    if not ratios:
        return "not measured"
    measured = span(ratios, "{:.2f}") + "x"
    if min(ratios) >= goal:
        return f"met in every round ({measured})"
    if max(ratios) >= goal:
        return f"met in some rounds ({measured})"
    return f"not met ({measured})"


def print_goals(goals):
    """Prints `goals`, one line each: (what, goal, ratios), or (what, goal,
    ratios, ceiling) with the per-round ratios the raw engine reaches on
    the same work; a goal not met in every round whose ceiling is below it
    in every round is marked as above the ceiling."""
    print()
    print("Goals:")
    for what, goal, ratios, *rest in goals:
        line = f"- {what} at least {goal:g}x: {verdict(ratios, goal)}"
        ceiling = rest[0] if rest else []
        if ceiling and ratios and min(ratios) < goal:
            reach = span(ceiling, "{:.2f}") + "x"
            if max(ceiling) < goal:
                line += f"; above the ceiling: the raw engine reaches {reach}"
            else:
                line += f"; the raw engine reaches {reach}"
        print(line)
