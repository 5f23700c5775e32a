"""Prints the UmaDB peer benchmark's table from run.sh's JSON lines: per
workload, each side's event rate (min-max over the rounds) and each disco
store over UmaDB (min-max of the per-round ratios): the embedded stores
against UmaDB embedded at its fastest reads (mmap and a page cache) and at
its defaults, PostgreSQL against UmaDB's gRPC server."""
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ranges import ratio, span  # noqa: E402 (bench/ranges.py)

NAMES = {
    "append-8x1": "8 writers, 1 event per append",
    "append-1x100": "1 writer, 100 events per append",
    "read-all": "read all of 100k (pages of 1,000)",
    "read-stream": "read 1,000 events of one stream (UmaDB: one tag) out of 100k",
}

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
    if not s:
        continue
    mmap, plain, server = s["umadb-embedded-mmap"], s["umadb-embedded"], s["umadb-server"]
    sqlite, redb, pg = s["disco-sqlite"], s["disco-redb"], s["disco-postgres"]
    print(
        f"| {NAMES[case]} | {span(mmap, '{:,.0f}')} | {span(plain, '{:,.0f}')} | {span(server, '{:,.0f}')} "
        f"| {span(sqlite, '{:,.0f}')} | {ratio(sqlite, mmap)} | {ratio(sqlite, plain)} "
        f"| {span(redb, '{:,.0f}')} | {ratio(redb, mmap)} | {ratio(redb, plain)} "
        f"| {span(pg, '{:,.0f}')} | {ratio(pg, server)} |"
    )
