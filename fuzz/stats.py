#!/usr/bin/python3
"""Summarises libFuzzer logs: one row per run (target, start, executions, exec/s, seconds,
cov, ft, outcome), then the total executions per target.

    python3 fuzz/stats.py [LOG ...]     # default: fuzz/logs/*/fuzz-0.log and fuzz/logs/*.log
"""
import glob
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
logs = sys.argv[1:] or sorted(glob.glob(os.path.join(here, "logs", "*", "fuzz-0.log")) +
                              glob.glob(os.path.join(here, "logs", "*.log")))
totals = {}
print("| target | started | executions | exec/s | seconds | cov | ft | outcome |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for log in logs:
    text = open(log, errors="replace").read()
    m = re.search(r"(open_stack_file|open_stack|config)-(\d{8}-\d{6})", log)
    if not m:
        continue
    target, started = m.group(1), m.group(2)
    units = re.search(r"stat::number_of_executed_units:\s+(\d+)", text)
    rate = re.search(r"stat::average_exec_per_sec:\s+(\d+)", text)
    last = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)", text, re.M)
    done = re.search(r"Done (\d+) runs in (\d+) second", text)
    n = int(units.group(1)) if units else (int(last[-1][0]) if last else 0)
    r = int(rate.group(1)) if rate else 0
    secs = int(done.group(2)) if done else (round(n / r) if r else 0)
    cov, ft = (last[-1][1], last[-1][2]) if last else ("", "")
    if "ERROR: libFuzzer" in text or "SUMMARY:" in text:
        kind = re.search(r"ERROR: libFuzzer: ([\w -]+)", text)
        outcome = "found: " + (kind.group(1).strip() if kind else "crash")
    elif done:
        outcome = "clean, time limit"
    else:
        outcome = "clean, stopped"
    totals[target] = totals.get(target, 0) + n
    print(f"| {target} | {started} | {n:,} | {r:,} | {secs:,} | {cov} | {ft} | {outcome} |")
print()
for t, n in sorted(totals.items()):
    print(f"{t}: {n:,} executions")
print(f"total: {sum(totals.values()):,} executions")
