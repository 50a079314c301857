import csv,sys,collections
for f in sys.argv[1:]:
    tot=collections.Counter(); n=0
    for row in csv.reader(open(f)):
        if len(row)<5 or row[0]=="Timestamp": continue
        name=row[2]
        if "/ 1 sec" in name:
            try: tot[name]+=float(row[4])
            except: pass
    g=lambda k: sum(v for kk,v in tot.items() if kk.startswith(k))
    print("%-28s alloc %7.0f MB  gc0 %4d gc1 %4d gc2 %3d  pause %6.0f ms  jit %6.0f ms (%5d methods)  cpu user %5.1f s sys %5.1f s  lockcont %d" % (f.split('/')[-1],
      g("dotnet.gc.heap.total_allocated")/1e6, g("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen0]"), g("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen1]"), g("dotnet.gc.collections ({collection} / 1 sec)[gc.heap.generation=gen2]"),
      g("dotnet.gc.pause.time")*1000, g("dotnet.jit.compilation.time")*1000, g("dotnet.jit.compiled_methods"), g("dotnet.process.cpu.time (s / 1 sec)[cpu.mode=user]"), g("dotnet.process.cpu.time (s / 1 sec)[cpu.mode=system]"), g("dotnet.monitor.lock_contentions")))
