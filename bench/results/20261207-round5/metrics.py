import sys,re
f=sys.argv[1]; rows=[]; cur=None
for l in open(f):
    if l.startswith("## "):
        cur={"t":float(l[3:])}; rows.append(cur); continue
    m=re.match(r'(\w+)\{([^}]*)\} ([0-9.eE+-]+)',l)
    if not m or cur is None: continue
    name,labels,v=m.groups(); g=re.search(r'gc_heap_generation="(\w+)"',labels)
    key=name+("."+g.group(1) if g else "")
    cur[key]=cur.get(key,0)+float(v)
t0=rows[0]["t"]; prev=None
for r in rows:
    if len(r)<3: continue
    if prev:
        d=lambda k: r.get(k,0)-prev.get(k,0)
        print("%6.1fs gcpause+%6.1fms g0+%d g1+%d g2+%d jit+%6.1fms tp=%d q=%d" % (r["t"]-t0, d("dotnet_gc_pause_time_seconds_total")*1000, d("dotnet_gc_collections_total.gen0"), d("dotnet_gc_collections_total.gen1"), d("dotnet_gc_collections_total.gen2"), d("dotnet_jit_compilation_time_seconds_total")*1000, r.get("dotnet_thread_pool_thread_count",0), r.get("dotnet_thread_pool_queue_length",0)))
    prev=r
