using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bench.LoadGen;

/// <summary>
/// scale-out (issue 20): 100 000 WebSockets held by a cluster on this machine. The connections are
/// held by several worker processes (scale-out-clients: one per node, each bound to its own source
/// address, 127.0.0.2 and up, so that local ports do not run out and no process passes its 20 000
/// file descriptors); this coordinator reads the nodes' RSS before and after, publishes ALERTs to
/// everyone and reads back what the workers received. They share a folder (--dir): "go" and "stop"
/// files from the coordinator, a status file per worker every 250 ms, a result file per worker at
/// the end. Latency is measured across processes: Stopwatch is CLOCK_MONOTONIC, one clock for the
/// whole machine.
/// </summary>
public sealed partial class Scenarios
{
    /// <summary>Seq slots every worker tracks: warm-up at 0, one-to-all at 100.., the steady ALERTs at 1000..</summary>
    private const int ScaleSeqSlots = 4096;
    private const int ScaleOneToAllBase = 100;
    private const int ScaleSteadyBase = 1000;

    // ------------------------------------------------------------------ worker
    private async Task<ScenarioResult> ScaleOutClientsAsync()
    {
        var n = o.N ?? (o.Smoke ? 1000 : 17_000);
        var dir = o.Dir ?? throw new ArgumentException("scale-out-clients needs --dir");
        var w = o.Worker;
        ClientPool.BindAddress = o.Bind;
        var res = new ScenarioResult($"worker {w}, n={n}, bind {o.Bind?.ToString() ?? "-"}");
        var counts = new int[ScaleSeqSlots];
        var lastArrival = new long[ScaleSeqSlots];
        // Room for the retries' connections too (a retry is a new Conn with the next index).
        var slots = n * 2;
        var seen = new ulong[(long)slots * (ScaleSeqSlots / 64)];
        long dups = 0, outOfRange = 0, unparsed = 0;
        var hists = new ThreadLocal<Histogram>(() => new Histogram(), trackAllValues: true);
        await using var pool = new ClientPool(o.WsUri, _tracker, 2048);
        pool.OnFrameOverride = (c, frame, now) =>
        {
            var head = frame[..Math.Min(frame.Length, 40)];
            if (head.IndexOf("\"ALERT\""u8) < 0 && head.IndexOf("\"UPDATE\""u8) < 0) return;
            if (!TryNumberAfter(frame, "\"seq\":"u8, out var seq) || !TryNumberAfter(frame, "\"sentAt\":"u8, out var sentAt)) { Interlocked.Increment(ref unparsed); return; }
            if (seq < 0 || seq >= ScaleSeqSlots || c.Index >= slots) { Interlocked.Increment(ref outOfRange); return; }
            // One connection's frames are handled one after the other: its bits need no lock.
            ref var word = ref seen[(long)c.Index * (ScaleSeqSlots / 64) + seq / 64];
            var bit = 1UL << (int)(seq % 64);
            if ((word & bit) != 0) { Interlocked.Increment(ref dups); return; }
            word |= bit;
            Interlocked.Increment(ref counts[seq]);
            long prev;
            while (now > (prev = Volatile.Read(ref lastArrival[seq])) && Interlocked.CompareExchange(ref lastArrival[seq], now, prev) != prev) { }
            if (seq >= ScaleSteadyBase) hists.Value!.Record((now - sentAt) * 1_000_000 / Stopwatch.Frequency);
        };

        var go = Path.Combine(dir, "go");
        var stop = Path.Combine(dir, "stop");
        while (!File.Exists(go)) await Task.Delay(100);
        var phase = "connecting";
        var t0 = Stopwatch.GetTimestamp();
        var connectSecs = 0.0;
        using var statusStop = new CancellationTokenSource();
        var status = Task.Run(async () =>
        {
            var file = Path.Combine(dir, $"worker-{w}.status");
            var sb = new StringBuilder();
            while (!statusStop.IsCancellationRequested)
            {
                Conn[] conns;
                lock (pool.Conns) conns = pool.Conns.ToArray();
                sb.Clear();
                sb.Append(CultureInfo.InvariantCulture, $"{phase} {conns.Count(c => c.Open)} {conns.Count(c => c.ConnectedAt != 0)} {Interlocked.Read(ref pool.ConnectFailures)} {Interlocked.Read(ref dups)}\n");
                for (var k = 0; k < ScaleSeqSlots; k++)
                {
                    var v = Volatile.Read(ref counts[k]);
                    if (v > 0) sb.Append(CultureInfo.InvariantCulture, $"{k}:{v} ");
                }
                sb.Append('\n');
                await File.WriteAllTextAsync(file + ".tmp", sb.ToString());
                File.Move(file + ".tmp", file, overwrite: true);
                try { await Task.Delay(250, statusStop.Token); } catch (OperationCanceledException) { }
            }
        });

        var connectDeadline = TimeSpan.FromSeconds(o.Smoke ? 60 : 1200);
        await pool.ConnectManyAsync(n, _ => 1 << AccidentsTopic, o.Concurrency, connectDeadline);
        // Connections that failed (a handshake that timed out on the loaded machine) or that the server
        // has closed since: connected again, up to 3 more passes, as a real client would come back.
        var retried = 0;
        for (var pass = 0; pass < 3 && pool.OpenCount < n && Stopwatch.GetElapsedTime(t0) < connectDeadline; pass++)
        {
            var missing = Math.Min(n - pool.OpenCount, slots - pool.Conns.Count);
            if (missing <= 0) break;
            retried += missing;
            log($"scale-out-clients {w}: {pool.OpenCount}/{n} open after {Stopwatch.GetElapsedTime(t0).TotalSeconds:0} s; connecting {missing} again (pass {pass + 1})");
            await pool.ConnectManyAsync(missing, _ => 1 << AccidentsTopic, o.Concurrency, connectDeadline - Stopwatch.GetElapsedTime(t0));
        }
        connectSecs = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        phase = "connected";
        log($"scale-out-clients {w}: {pool.OpenCount}/{n} connected from {o.Bind} in {connectSecs:0.0} s ({pool.ConnectFailures} failed{(pool.FirstError is null ? "" : ": " + pool.FirstError)})");
        while (!File.Exists(stop)) await Task.Delay(200);
        var open = pool.OpenCount;
        var self = ProcStats.Self();
        statusStop.Cancel();
        await status;

        var hist = new Histogram();
        foreach (var h in hists.Values) hist.Add(h);
        // Per seq: how many of the connections still open at the end received it (lost to a held
        // client, apart from what a connection the server closed on the way never got).
        var countsOpen = new int[ScaleSeqSlots];
        Conn[] openConns;
        lock (pool.Conns) openConns = pool.Conns.Where(c => c.Open && c.Index < slots).ToArray();
        foreach (var c in openConns)
        {
            var baseWord = (long)c.Index * (ScaleSeqSlots / 64);
            for (var k = 0; k < ScaleSeqSlots; k++)
                if ((seen[baseWord + k / 64] & (1UL << (k % 64))) != 0) countsOpen[k]++;
        }
        var result = new JsonObject
        {
            ["worker"] = w, ["n"] = n, ["bind"] = o.Bind?.ToString(), ["url"] = o.Url.ToString(),
            ["connected"] = pool.Conns.Count(c => c.ConnectedAt != 0), ["openAtEnd"] = open, ["connectFailures"] = pool.ConnectFailures,
            ["firstError"] = pool.FirstError, ["connectSeconds"] = Math.Round(connectSecs, 1), ["retried"] = retried,
            ["dups"] = dups, ["outOfRange"] = outOfRange, ["unparsed"] = unparsed,
            ["counts"] = new JsonArray(counts.Select(x => (JsonNode)x).ToArray()),
            ["countsOpen"] = new JsonArray(countsOpen.Select(x => (JsonNode)x).ToArray()), ["openCounted"] = openConns.Length,
            ["lastArrival"] = new JsonArray(lastArrival.Select(x => (JsonNode)x).ToArray()),
            ["histCounts"] = new JsonArray(hist.RawCounts.Select(x => (JsonNode)x).ToArray()),
            ["histCount"] = hist.Count, ["histSum"] = hist.Sum, ["histMin"] = hist.Count > 0 ? hist.Min : 0, ["histMax"] = hist.Max,
            ["rssKb"] = self?.RssKb, ["fdLimit"] = FdLimit(),
        };
        var outFile = Path.Combine(dir, $"worker-{w}.json");
        await File.WriteAllTextAsync(outFile + ".tmp", result.ToJsonString());
        File.Move(outFile + ".tmp", outFile, overwrite: true);
        res.Ok = true;
        res.Metric("held", open, "connections", "higher");
        return res;
    }

    // ------------------------------------------------------------------ coordinator
    private sealed record WorkerStatus(string Phase, int Open, int Connected, long Failed, long Dups, Dictionary<int, int> Counts);

    private static WorkerStatus? ReadStatus(string file)
    {
        try
        {
            var lines = File.ReadAllLines(file);
            if (lines.Length < 1) return null;
            var h = lines[0].Split(' ');
            var counts = new Dictionary<int, int>();
            if (lines.Length > 1)
                foreach (var kv in lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var p = kv.Split(':');
                    counts[int.Parse(p[0], CultureInfo.InvariantCulture)] = int.Parse(p[1], CultureInfo.InvariantCulture);
                }
            return new WorkerStatus(h[0], int.Parse(h[1], CultureInfo.InvariantCulture), int.Parse(h[2], CultureInfo.InvariantCulture),
                long.Parse(h[3], CultureInfo.InvariantCulture), long.Parse(h[4], CultureInfo.InvariantCulture), counts);
        }
        catch (Exception) { return null; }
    }

    private async Task<ScenarioResult> ScaleOutAsync()
    {
        var dir = o.Dir ?? throw new ArgumentException("scale-out needs --dir");
        var workers = o.Workers > 0 ? o.Workers : throw new ArgumentException("scale-out needs --workers K");
        var publishes = o.Rounds ?? (o.Smoke ? 3 : 10);
        var rate = o.Rates?[0] ?? 10;
        var seconds = o.DurationSeconds ?? (o.Smoke ? 3 : 60);
        if (rate * seconds > ScaleSeqSlots - ScaleSteadyBase) throw new ArgumentException($"scale-out: rate x duration must be at most {ScaleSeqSlots - ScaleSteadyBase}");
        var nodes = o.Nodes.Length > 0 ? o.Nodes : [o.Url];
        var res = new ScenarioResult($"{nodes.Length} nodes, {workers} client processes");
        using var alerts = new Publisher(o.Url, o.Key, o.FrameBytes, maxInFlight: 128, messageType: "ALERT");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

        WorkerStatus?[] Statuses() => Enumerable.Range(0, workers).Select(i => ReadStatus(Path.Combine(dir, $"worker-{i}.status"))).ToArray();
        async Task<int?[]> NodeClientsAsync()
        {
            var r = new int?[nodes.Length];
            for (var i = 0; i < nodes.Length; i++)
            {
                try
                {
                    using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(nodes[i], "/api/stats")));
                    r[i] = doc.RootElement.GetProperty("clients").GetInt32();
                }
                catch (Exception) { r[i] = null; }
            }
            return r;
        }

        // RSS of every node before any client.
        var rssBefore = o.NodePids.Select(p => ProcStats.Read(p)?.RssKb).ToArray();
        log($"scale-out: node RSS before (MB): {string.Join(", ", rssBefore.Select(x => x is { } k ? (k / 1024.0).ToString("0", CultureInfo.InvariantCulture) : "?"))}; load average {LoadAverage()}");
        await File.WriteAllTextAsync(Path.Combine(dir, "go"), "go\n");
        var t0 = Stopwatch.GetTimestamp();
        var lastLog = t0;
        WorkerStatus?[] st;
        while (true)
        {
            st = Statuses();
            if (st.All(s => s is { Phase: "connected" })) break;
            if (Stopwatch.GetElapsedTime(t0).TotalSeconds > (o.Smoke ? 90 : 1200)) { res.Notes.Add("not every worker finished connecting in time"); break; }
            if (Stopwatch.GetElapsedTime(lastLog).TotalSeconds >= 10)
            {
                lastLog = Stopwatch.GetTimestamp();
                log($"scale-out: {st.Sum(s => s?.Open ?? 0)} open, {st.Sum(s => s?.Failed ?? 0)} failed after {Stopwatch.GetElapsedTime(t0).TotalSeconds:0} s; load average {LoadAverage()}");
            }
            await Task.Delay(250);
        }
        var connectSecs = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var heldAtConnect = st.Sum(s => s?.Open ?? 0);
        log($"scale-out: {heldAtConnect} connections open after {connectSecs:0.0} s ({st.Sum(s => s?.Failed ?? 0)} connect failures)");

        // Settle, then memory and clients per node.
        await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 2 : 10));
        var perNode = await NodeClientsAsync();
        var rssAfter = o.NodePids.Select(p => ProcStats.Read(p)?.RssKb).ToArray();
        var kbPerConn = new double?[nodes.Length];
        for (var i = 0; i < nodes.Length && i < rssAfter.Length; i++)
            if (rssAfter[i] is { } a && rssBefore[i] is { } b && perNode[i] is { } c && c > 0)
                kbPerConn[i] = Math.Round((a - b) / (double)c, 1);
        var totalRssDeltaKb = Enumerable.Range(0, Math.Min(rssAfter.Length, rssBefore.Length)).Sum(i => (rssAfter[i] ?? 0) - (rssBefore[i] ?? 0));
        var heldByNodes = perNode.Sum(x => x ?? 0);
        log($"scale-out: clients per node {string.Join(", ", perNode.Select(x => x?.ToString() ?? "?"))} = {heldByNodes}; RSS after (MB) {string.Join(", ", rssAfter.Select(x => x is { } k ? (k / 1024.0).ToString("0", CultureInfo.InvariantCulture) : "?"))}; " +
            $"KB per connection {string.Join(", ", kbPerConn.Select(x => x?.ToString(CultureInfo.InvariantCulture) ?? "?"))}; load average {LoadAverage()}");

        int HeldNow() => Statuses().Sum(s => s?.Open ?? 0);
        int Received(int seq) => Statuses().Sum(s => s is not null && s.Counts.TryGetValue(seq, out var v) ? v : 0);
        async Task<bool> WaitAllAsync(int seq, double max)
        {
            var until = Stopwatch.GetTimestamp() + (long)(max * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                if (Received(seq) >= HeldNow()) return true;
                await Task.Delay(100);
            }
            return false;
        }

        // Warm-up: one ALERT to everyone.
        var warm = new Step("scale-out warm-up", 0, 1, 0);
        await alerts.PublishNowAsync(warm, 0, AccidentsTopic);
        var warmOk = await WaitAllAsync(0, o.Smoke ? 20 : 60);
        log($"scale-out: warm-up ALERT reached {Received(0)}/{HeldNow()}{(warmOk ? "" : " (not all)")}");

        // One ALERT to everyone, `publishes` times: POST to the last delivery (from the workers' clocks, one machine clock).
        var oneStep = new Step("scale-out one-to-all", ScaleOneToAllBase, publishes, 0);
        var sentAt = new long[publishes];
        var heldAt = new int[publishes];
        for (var i = 0; i < publishes; i++)
        {
            heldAt[i] = HeldNow();
            sentAt[i] = await alerts.PublishNowAsync(oneStep, i, AccidentsTopic);
            await WaitAllAsync(ScaleOneToAllBase + i, o.Smoke ? 10 : 30);
            await Task.Delay(500);
        }
        log($"scale-out: {publishes} one-to-all publishes done ({oneStep.AcceptedCount} accepted); load average {LoadAverage()}");

        // The steady load: `rate` ALERTs/s to everyone for `seconds`.
        var heldBeforeSteady = HeldNow();
        var cap = (int)Math.Ceiling(rate * seconds);
        var steady = new Step("scale-out steady", ScaleSteadyBase, cap, 0);
        var steadyT0 = Stopwatch.GetTimestamp();
        var load0 = LoadAverage();
        var cpu0 = o.NodePids.Select(p => ProcStats.Read(p)).ToArray();
        await alerts.RunAsync(steady, rate, _ => AccidentsTopic, TimeSpan.FromSeconds(30));
        var publishSecs = Stopwatch.GetElapsedTime(steadyT0).TotalSeconds;
        // Drain: until every accepted ALERT reached everyone held, 5 s without progress, or 60 s.
        var drainT0 = Stopwatch.GetTimestamp();
        long lastSum = -1; var lastProgress = drainT0;
        while (Stopwatch.GetElapsedTime(drainT0).TotalSeconds < (o.Smoke ? 10 : 60))
        {
            var s = Statuses();
            long sum = 0;
            for (var k = 0; k < cap; k++) if (steady.Accepted[k] == 1) sum += s.Sum(x => x is not null && x.Counts.TryGetValue(ScaleSteadyBase + k, out var v) ? v : 0);
            if (sum >= (long)steady.AcceptedCount * s.Sum(x => x?.Open ?? 0)) break;
            if (sum != lastSum) { lastSum = sum; lastProgress = Stopwatch.GetTimestamp(); }
            else if (Stopwatch.GetElapsedTime(lastProgress).TotalSeconds > 5) break;
            await Task.Delay(250);
        }
        var cpu1 = o.NodePids.Select(p => ProcStats.Read(p)).ToArray();
        var load1 = LoadAverage();
        var heldAtEnd = HeldNow();
        var perNodeEnd = await NodeClientsAsync();

        // Stop the workers and read their results.
        await File.WriteAllTextAsync(Path.Combine(dir, "stop"), "stop\n");
        var results = new JsonObject?[workers];
        var until = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            for (var i = 0; i < workers; i++)
                if (results[i] is null && File.Exists(Path.Combine(dir, $"worker-{i}.json")))
                    try { results[i] = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(dir, $"worker-{i}.json")))!.AsObject(); } catch (Exception) { }
            if (results.All(r => r is not null)) break;
            await Task.Delay(200);
        }
        var got = results.Where(r => r is not null).Select(r => r!).ToList();
        if (got.Count < workers) res.Notes.Add($"only {got.Count} of {workers} workers reported");
        long Count(int seq) => got.Sum(r => r["counts"]![seq]!.GetValue<long>());
        long LastArrival(int seq) => got.Max(r => r["lastArrival"]![seq]!.GetValue<long>());

        // One-to-all times.
        var times = new List<double>();
        var oneRows = new List<string>();
        for (var i = 0; i < publishes; i++)
        {
            var seq = ScaleOneToAllBase + i;
            var c = Count(seq);
            var ms = LastArrival(seq) is var la and > 0 ? (la - sentAt[i]) * 1000.0 / Stopwatch.Frequency : double.NaN;
            oneRows.Add($"{ms:0}ms({c}/{heldAt[i]})");
            if (c >= heldAt[i] && !double.IsNaN(ms)) times.Add(ms);
        }
        times.Sort();
        double? median = times.Count > 0 ? Math.Round(times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2, 1) : null;
        log($"scale-out: one-to-all (POST -> last of all held): {string.Join(" ", oneRows)}; median of complete ones {median} ms");

        // Steady: delivered, lost, latency.
        long delivered = 0;
        for (var k = 0; k < cap; k++) if (steady.Accepted[k] == 1) delivered += Count(ScaleSteadyBase + k);
        var expected = steady.AcceptedCount * (long)heldBeforeSteady;
        // The clients still connected at the end: what they should have had and what they got.
        long heldOpenAtEnd = got.Sum(r => r["openCounted"]?.GetValue<long>() ?? 0), deliveredToOpen = 0;
        for (var k = 0; k < cap; k++) if (steady.Accepted[k] == 1) deliveredToOpen += got.Sum(r => r["countsOpen"]![ScaleSteadyBase + k]!.GetValue<long>());
        var lostToOpen = Math.Max(0, steady.AcceptedCount * heldOpenAtEnd - deliveredToOpen);
        long oneToAllToOpen = 0; for (var i = 0; i < publishes; i++) oneToAllToOpen += got.Sum(r => r["countsOpen"]![ScaleOneToAllBase + i]!.GetValue<long>());
        var expectedAtTarget = (long)cap * heldBeforeSteady;
        var lost = Math.Max(0, expected - delivered);
        var hist = new Histogram();
        foreach (var r in got)
            hist.AddRaw(r["histCounts"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(), r["histCount"]!.GetValue<long>(), r["histSum"]!.GetValue<double>(),
                r["histMin"]!.GetValue<long>(), r["histMax"]!.GetValue<long>());
        var dups = got.Sum(r => r["dups"]!.GetValue<long>());
        var nodeCpu = Enumerable.Range(0, Math.Min(cpu0.Length, cpu1.Length)).Select(i => ProcStats.CpuPercent(cpu0[i], cpu1[i])).ToList();
        var workerRssMb = got.Select(r => r["rssKb"]?.GetValue<long>() is { } k ? Math.Round(k / 1024.0) : (double?)null).ToList();
        log($"scale-out: steady {rate}/s for {seconds} s: published {steady.Published}, accepted {steady.AcceptedCount} (refused {steady.PostRejected}, errors {steady.PostErrors}) in {publishSecs:0.0} s; " +
            $"delivered {delivered} of {expected} ({(expected > 0 ? delivered * 100.0 / expected : 0):0.00} %), lost {lost} (to the {heldOpenAtEnd} still connected at the end: {lostToOpen} of {steady.AcceptedCount * heldOpenAtEnd}), duplicated {dups}; p50 {Ms(hist.Quantile(0.5))} ms, p99 {Ms(hist.Quantile(0.99))} ms, max {Ms(hist.Max)} ms; " +
            $"node CPU % {string.Join(", ", nodeCpu)}; held at end {heldAtEnd}; load average {load0} -> {load1}");

        res.Steps.Add(new Dictionary<string, object?>
        {
            ["step"] = 1, ["name"] = "hold", ["nodes"] = nodes.Length, ["workers"] = workers,
            ["held"] = heldAtConnect, ["heldByNodes"] = heldByNodes, ["perNode"] = string.Join(",", perNode.Select(x => x?.ToString() ?? "?")),
            ["connectFailures"] = st.Sum(s => s?.Failed ?? 0), ["connectSeconds"] = Math.Round(connectSecs, 1),
            ["rssBeforeMB"] = string.Join(",", rssBefore.Select(x => Mb(x))), ["rssAfterMB"] = string.Join(",", rssAfter.Select(x => Mb(x))),
            ["kbPerConnection"] = string.Join(",", kbPerConn), ["kbPerConnectionAll"] = heldByNodes > 0 ? Math.Round(totalRssDeltaKb / (double)heldByNodes, 1) : null,
            ["workerRssMB"] = string.Join(",", workerRssMb), ["loadAvg1"] = LoadAverage(),
        });
        res.Steps.Add(new Dictionary<string, object?>
        {
            ["step"] = 2, ["name"] = $"one ALERT to all, x{publishes}", ["publishes"] = publishes, ["accepted"] = oneStep.AcceptedCount,
            ["times"] = string.Join(" ", oneRows), ["complete"] = times.Count, ["medianMs"] = median,
            ["minMs"] = times.Count > 0 ? Math.Round(times[0], 1) : null, ["maxMs"] = times.Count > 0 ? Math.Round(times[^1], 1) : null,
        });
        res.Steps.Add(new Dictionary<string, object?>
        {
            ["step"] = 3, ["name"] = $"{rate} ALERT/s to all for {seconds} s", ["targetPublishPerSec"] = rate, ["published"] = steady.Published,
            ["accepted"] = steady.AcceptedCount, ["postRejected"] = steady.PostRejected, ["postErrors"] = steady.PostErrors,
            ["publishSeconds"] = Math.Round(publishSecs, 1), ["heldBefore"] = heldBeforeSteady, ["heldAtEnd"] = heldAtEnd,
            ["perNodeAtEnd"] = string.Join(",", perNodeEnd.Select(x => x?.ToString() ?? "?")),
            ["expectedDeliveries"] = expected, ["expectedAtTarget"] = expectedAtTarget, ["delivered"] = delivered,
            ["deliveryPct"] = expected > 0 ? Math.Round(delivered * 100.0 / expected, 3) : null, ["lost"] = lost, ["duplicates"] = dups,
            ["openAtEndCounted"] = heldOpenAtEnd, ["deliveredToOpen"] = deliveredToOpen, ["lostToOpen"] = lostToOpen,
            ["p50Ms"] = Ms(hist.Quantile(0.5)), ["p99Ms"] = Ms(hist.Quantile(0.99)), ["p999Ms"] = Ms(hist.Quantile(0.999)), ["maxMs"] = Ms(hist.Max),
            ["postP99Ms"] = Ms(steady.PostLatency.Quantile(0.99)), ["nodeCpuPct"] = string.Join(",", nodeCpu),
            ["loadAvg1Before"] = load0, ["loadAvg1After"] = load1,
        });
        res.Metric("held", heldAtConnect, "connections", "higher");
        res.Metric("kbPerConnection", heldByNodes > 0 ? Math.Round(totalRssDeltaKb / (double)heldByNodes, 1) : null, "KB", "lower");
        res.Metric("oneToAllMedianMs", median, "ms", "lower");
        res.Metric("steadyLost", lost, "deliveries", "lower");
        res.Metric("steadyLostToHeld", lostToOpen, "deliveries", "lower", headline: false);
        res.Metric("steadyP99Ms", Ms(hist.Quantile(0.99)), "ms", "lower");
        res.Ok = heldAtConnect > 0 && median is not null && delivered > 0;
        return res;
    }
}
