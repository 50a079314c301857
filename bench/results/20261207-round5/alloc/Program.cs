using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
// Sums GC AllocationTick events (one per ~100 KB allocated) by type: an estimate of who allocates.
// args: trace, units (divide by), top, [type substring to show stacks for]
var per = args.Length > 1 ? double.Parse(args[1]) : 1;
var top = int.Parse(args.ElementAtOrDefault(2) ?? "40");
var filter = args.ElementAtOrDefault(3);
var byType = new Dictionary<string, long>();
var byStack = new Dictionary<string, long>();
long total = 0;
var etlx = TraceLog.CreateFromEventPipeDataFile(args[0]);
using var log = TraceLog.OpenOrConvert(etlx);
foreach (var ev in log.Events)
{
    if (ev is not GCAllocationTickTraceData e) continue;
    var name = e.TypeName ?? "?";
    byType[name] = byType.GetValueOrDefault(name) + e.AllocationAmount64;
    total += e.AllocationAmount64;
    if (filter == "OWNER")
    {
        string owner = "other";
        for (var s2 = ev.CallStack(); s2 is not null; s2 = s2.Caller)
        {
            var m2 = s2.CodeAddress.FullMethodName ?? "";
            if (m2.StartsWith("Traffic.") || m2.StartsWith("Akka.")) { owner = m2.Length > 150 ? m2[..150] : m2; break; }
        }
        byStack[owner] = byStack.GetValueOrDefault(owner) + e.AllocationAmount64;
        continue;
    }
    if (filter is null || !name.Contains(filter)) continue;
    var frames = new List<string>();
    for (var s = ev.CallStack(); s is not null && frames.Count < 12; s = s.Caller)
    {
        var m = s.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(m)) continue;
        frames.Add(m.Length > 140 ? m[..140] : m);
    }
    var key = string.Join("\n      <- ", frames);
    byStack[key] = byStack.GetValueOrDefault(key) + e.AllocationAmount64;
}
Console.WriteLine($"total {total / 1e6:0.0} MB sampled; per unit {total / per:0} B");
if (filter is null)
    foreach (var (t, b) in byType.OrderByDescending(x => x.Value).Take(top))
        Console.WriteLine($"{b / per,10:0} B  {100.0 * b / total,5:0.0}%  {t}");
else
    foreach (var (k, b) in byStack.OrderByDescending(x => x.Value).Take(top))
        Console.WriteLine($"{b / per,10:0} B  {k}\n");
