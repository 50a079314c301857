import json,sys
for f in sys.argv[1:]:
    print("==",f)
    for l in open(f):
        r=json.loads(l)
        if r.get("kind")!="step": continue
        s=r["data"]; cpu=s.get("serverCpuPct")
        us = (cpu/100*s["windowSeconds"]*1e6/ max(1,s["connected"])) if cpu is not None else None
        print("%-12s r%d s%d %5d/s ok %5d fail %4d p50 %7.1f p99 %7.1f srvCPU %5s%% lg %5s%% win %.2f us/conn %s %s" % (r["target"],r["round"],r["slot"],s["targetPerSec"], s["connected"], s["failures"], s["p50Ms"], s["p99Ms"], cpu, s.get("loadgenCpuPct"), s["windowSeconds"], None if us is None else round(us), "PASS" if s["pass"] else "FAIL"))
