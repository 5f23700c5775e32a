"""Prints the UmaDB peer benchmark's table from run.sh's JSON lines: per
workload, each side's event rate (min-max over the rounds) and each disco
store over UmaDB (min-max of the per-round ratios): the embedded stores
against UmaDB embedded at its fastest reads (mmap and a page cache) and at
its defaults, PostgreSQL against UmaDB's gRPC server.

Then the ceilings: each store's raw engine doing the same work (disco's
table shape and keys, none of its checks; `disco-bench --raw`), its rate,
its ratio to the UmaDB side the goal names, and the store's ratio to it.

Then the goals (issue 29), each met in every round, in some, or not: the
SQLite and redb stores at least 1.5x UmaDB embedded at its fastest (mmap),
PostgreSQL at least 1.0x UmaDB's server, on every workload; one not met
whose ceiling is below it in every round is marked above the ceiling (a
conditional case's ceiling is the raw engine's plain appends: a condition
only adds work)."""
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ranges import pairs, print_goals, ratio, span  # noqa: E402 (bench/ranges.py)

NAMES = {
    "append-8x1": "8 writers, 1 event per append",
    "append-1x100": "1 writer, 100 events per append",
    "read-all": "read all of 100k (pages of 1,000)",
    "read-stream": "read 1,000 events of one stream (UmaDB: one tag) out of 100k",
    "read-query": "query read: 1,000 events of one tag out of 100k",
    "cond-8x1": "8 writers, 1 event per append on a 2-item condition",
    "seat-race": "12 writers race for 5 seats (winners/s; exactly 5 win on every side)",
}
# UmaDB reads one stream's events by a tag: its read-stream is its query read.
UMADB_CASE = {"read-stream": "read-query"}
# A conditional append cannot beat a plain one: the ceiling of the
# conditional case is the raw engine's plain appends of the same shape
# (perfect batching of the 8 writers' one-event appends), round by round.
CEILING_CASE = {"cond-8x1": "append-8x1"}

rates = defaultdict(lambda: defaultdict(list))
with open(sys.argv[1]) as lines:
    for line in lines:
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        rates[row["case"]][row["side"]].append(row["events"] / row["seconds"])


print("| workload | UmaDB embedded, mmap ev/s | defaults ev/s | server ev/s | disco SQLite ev/s | / mmap | / defaults | disco redb ev/s | / mmap | / defaults | disco PostgreSQL ev/s | / server |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for case in NAMES:
    s = rates.get(case)
    u = rates.get(UMADB_CASE.get(case, case))
    if not s or not u:
        continue
    mmap, plain, server = u["umadb-embedded-mmap"], u["umadb-embedded"], u["umadb-server"]
    sqlite, redb, pg = s["disco-sqlite"], s["disco-redb"], s["disco-postgres"]
    print(
        f"| {NAMES[case]} | {span(mmap, '{:,.0f}')} | {span(plain, '{:,.0f}')} | {span(server, '{:,.0f}')} "
        f"| {span(sqlite, '{:,.0f}')} | {ratio(sqlite, mmap)} | {ratio(sqlite, plain)} "
        f"| {span(redb, '{:,.0f}')} | {ratio(redb, mmap)} | {ratio(redb, plain)} "
        f"| {span(pg, '{:,.0f}')} | {ratio(pg, server)} |"
    )

print()
print("Ceilings (the raw engine on the same work; the conditional cases' is the plain appends' below, as their goals say):")
print()
print("| workload | raw SQLite ev/s | / UmaDB mmap | disco / raw | raw redb ev/s | / UmaDB mmap | disco / raw | raw PostgreSQL ev/s | / UmaDB server | disco / raw |")
print("|---|---|---|---|---|---|---|---|---|---|")
for case in NAMES:
    s = rates.get(case)
    u = rates.get(UMADB_CASE.get(case, case))
    if not s or not u or not any(side.startswith("raw-") for side in s):
        continue
    cells = []
    for store, peer in (("sqlite", "umadb-embedded-mmap"), ("redb", "umadb-embedded-mmap"), ("postgres", "umadb-server")):
        raw = s.get(f"raw-{store}", [])
        cells += [span(raw, "{:,.0f}"), ratio(raw, u[peer]), ratio(s[f"disco-{store}"], raw)]
    print(f"| {NAMES[case]} | " + " | ".join(cells) + " |")

goals = []
for case in NAMES:
    s = rates.get(case)
    u = rates.get(UMADB_CASE.get(case, case))
    if not s or not u:
        continue
    raw_sides = rates.get(CEILING_CASE.get(case, case), {})
    for store, name, peer, peer_name, goal in (
        ("sqlite", "SQLite", "umadb-embedded-mmap", "UmaDB mmap", 1.5),
        ("redb", "redb", "umadb-embedded-mmap", "UmaDB mmap", 1.5),
        ("postgres", "PostgreSQL", "umadb-server", "UmaDB server", 1.0),
    ):
        goals.append((
            f"{case}: disco {name} / {peer_name}",
            goal,
            pairs(s[f"disco-{store}"], u[peer]),
            pairs(raw_sides.get(f"raw-{store}", []), u[peer]),
        ))
print_goals(goals)
