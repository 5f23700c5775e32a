"""Prints the peer benchmark's table from run.sh's JSON lines: per case, the
command rate of each side (min-max over the rounds) and each disco side
over cqrs-es (min-max of the per-round ratios).

Sides: cqrs-es (`CqrsFramework::execute`), disco (`execute`: the same call,
the store is read), disco-new (`execute_new`: the caller knows the id is
fresh, nothing is read), raw-insert (one autocommitted INSERT per command,
nothing read: the ceiling of any store that commits each command),
raw-schema (the same statement writing the event and stream rows with
disco's keys: the floor of disco's schema), disco-append (own-8 only: the
same events appended bare through disco's store, each client on its own
stream: the ceiling of any command path on it).

Then the goals (issue 29), each met in every round, in some, or not: one
client at least 0.85x the raw-INSERT ceiling, 8 clients on new aggregates
at least 5x cqrs-es, 8 clients on their own aggregates at least 8x."""
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ranges import pairs, print_goals, ratio, span  # noqa: E402 (bench/ranges.py)

NAMES = {
    "new-1": "1 client, a new aggregate per command",
    "new-8": "8 clients, a new aggregate per command",
    "own-8": "8 clients, each on its own aggregate, 200 commands, 4 rounds",
}

rates = defaultdict(lambda: defaultdict(list))
with open(sys.argv[1]) as lines:
    for line in lines:
        row = json.loads(line)
        rates[row["case"]][row["side"]].append(row["commands"] / row["seconds"])


print("| case | cqrs-es cmd/s | disco `execute` | disco / cqrs-es | disco `execute_new` | / cqrs-es | raw INSERT (ceiling) | / cqrs-es | disco's schema, raw (floor) or disco's bare appends (own-8) | / cqrs-es |")
print("|---|---|---|---|---|---|---|---|---|---|")
for case in ["new-1", "new-8", "own-8"]:
    sides = rates.get(case)
    if not sides:
        continue
    peer = sides["cqrs-es"]
    disco, new, raw = sides["disco"], sides.get("disco-new", []), sides.get("raw-insert", [])
    floor = sides.get("raw-schema", []) or sides.get("disco-append", [])
    print(
        f"| {NAMES[case]} | {span(peer, '{:,.0f}')} | {span(disco, '{:,.0f}')} | {ratio(disco, peer)} "
        f"| {span(new, '{:,.0f}')} | {ratio(new, peer)} | {span(raw, '{:,.0f}')} | {ratio(raw, peer)} "
        f"| {span(floor, '{:,.0f}')} | {ratio(floor, peer)} |"
    )

goals = []
if "new-1" in rates:
    s = rates["new-1"]
    goals.append(("1 client: disco `execute` / raw INSERT", 0.85, pairs(s["disco"], s.get("raw-insert", []))))
if "new-8" in rates:
    s = rates["new-8"]
    goals.append(("8 clients, new aggregates: disco `execute` / cqrs-es", 5.0, pairs(s["disco"], s["cqrs-es"])))
if "own-8" in rates:
    s = rates["own-8"]
    goals.append(("8 clients, own aggregates: disco `execute` / cqrs-es", 8.0, pairs(s["disco"], s["cqrs-es"])))
print_goals(goals)
