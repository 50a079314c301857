"""Server CPU per delivery of a burst run by window of bursts (young: 2-6, as the default burst run;
late: 11-20, a process about a minute older), per target and run, from a run's burst jsonl.
Usage: python3 burst-windows.py bench/results/STAMP-burst.jsonl"""
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row.get("kind") != "step": continue
    d = row["data"]
    runs.setdefault((row["target"], row["slot"]), {})[d["step"]] = (d["serverCpuMs"], d["delivered"])
def window(steps, first, last):
    cpu = sum(steps[s][0] for s in steps if first <= s <= last)
    n = sum(steps[s][1] for s in steps if first <= s <= last)
    return 1000.0 * cpu / n if n else None
print("| target | slot | bursts 2-6 (us/delivery) | bursts 11-20 (us/delivery) |")
print("|---|---|---|---|")
summary = {}
for (target, slot), steps in sorted(runs.items()):
    young, late = window(steps, 2, 6), window(steps, 11, 20)
    summary.setdefault(target, ([], []))
    summary[target][0].append(young); summary[target][1].append(late)
    print(f"| {target} | {slot} | {young:.3f} | {late:.3f} |")
print()
print("| target | median bursts 2-6 | median bursts 11-20 |")
print("|---|---|---|")
for target, (young, late) in summary.items():
    print(f"| {target} | {statistics.median(young):.3f} | {statistics.median(late):.3f} |")
