using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;

namespace Bench.LoadGen;

/// <summary>The long-running scenarios: memory after connection storms, and the soak.</summary>
public sealed partial class Scenarios
{
    private string SamplesPath(string scenario) =>
        Path.Combine(o.Out, $"{o.Stamp}-{scenario}-{o.Target}-r{o.Round}-s{o.Slot}-samples.csv");

    // ---------------------------------------------------------------- storm
    /// <summary>
    /// Memory after connection storms: K times, N connections opened (200 handshakes in flight) and
    /// all dropped at once (abortive close); then the server is left alone for --settle-seconds.
    /// Headline: RSS retained after the storms have settled (end - start).
    /// </summary>
    private async Task<ScenarioResult> StormAsync()
    {
        var n = o.N ?? (o.Smoke ? 300 : 5000);
        var rounds = o.Rounds ?? (o.Smoke ? 2 : 5);
        var settle = o.SettleSeconds ?? (o.Smoke ? 3 : 30);
        var res = new ScenarioResult($"n={n} x{rounds}");
        await using var sampler = new ServerSampler(o.ServerPid, SamplesPath("storm"), TimeSpan.FromSeconds(o.SampleSeconds ?? 0.5));

        // Baseline as idle-memory takes it: after a few connections opened and closed, so that the
        // code the first connection loads is not counted as kept by the storms.
        sampler.Phase = "warm-up";
        await using (var warm = new ClientPool(o.WsUri, _tracker, 1024))
        {
            await warm.ConnectManyAsync(50, _ => AllMask, o.Concurrency, TimeSpan.FromSeconds(30));
            warm.CloseAll();
        }
        await WaitForServerClientsAsync(0, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 1 : 3));
        sampler.Phase = "baseline";
        var start = sampler.Sample()?.RssMb;

        for (var r = 1; r <= rounds; r++)
        {
            sampler.Phase = $"storm {r}";
            var t0 = Stopwatch.GetTimestamp();
            await using var pool = new ClientPool(o.WsUri, _tracker, 1024);
            await pool.ConnectManyAsync(n, _ => AllMask, o.Concurrency, TimeSpan.FromSeconds(120));
            var open = pool.OpenCount;
            await WaitForServerClientsAsync(open, TimeSpan.FromSeconds(15));
            var connectSecs = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var atOpen = sampler.Sample();
            pool.CloseAll();
            var t1 = Stopwatch.GetTimestamp();
            var stats = await WaitForServerClientsAsync(0, TimeSpan.FromSeconds(15));
            var goneMs = Math.Round(Stopwatch.GetElapsedTime(t1).TotalMilliseconds, 0);
            sampler.Phase = $"after storm {r}";
            var atClosed = sampler.Sample();
            res.Steps.Add(new Dictionary<string, object?>
            {
                ["step"] = r, ["name"] = $"storm {r}: {n} opened and dropped",
                ["attempts"] = n, ["connected"] = open, ["failures"] = pool.ConnectFailures,
                ["connectSeconds"] = Math.Round(connectSecs, 1), ["serverClients"] = stats?.clients, ["msToZeroClients"] = goneMs,
                ["serverRssOpenMB"] = atOpen?.RssMb, ["serverRssClosedMB"] = atClosed?.RssMb,
                ["serverCpuPct"] = atOpen?.CpuPct, ["firstError"] = pool.FirstError, ["pass"] = open == n && stats?.clients == 0,
            });
            log($"storm {r}/{rounds}: {open}/{n} connected in {connectSecs:0.0} s, RSS open {atOpen?.RssMb} MB, all gone after {goneMs} ms, RSS {atClosed?.RssMb} MB");
        }

        sampler.Phase = "settle";
        var settleFrom = sampler.Elapsed;
        var marks = new SortedDictionary<double, double?>();
        foreach (var mark in new[] { 1.0, 5.0, 10.0, settle }.Where(m => m <= settle).Distinct())
        {
            var wait = settleFrom + mark - sampler.Elapsed;
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait));
            marks[mark] = sampler.Sample()?.RssMb;
        }
        var readings = sampler.Readings;
        var peak = readings.Count > 0 ? readings.Max(x => x.RssMb) : (double?)null;
        var end = marks.Count > 0 ? marks[marks.Keys.Last()] : null;
        var row = new Dictionary<string, object?>
        {
            ["step"] = rounds + 1, ["name"] = $"settled {settle:0} s after the last storm",
            ["serverRssStartMB"] = start, ["serverRssPeakMB"] = peak, ["serverRssEndMB"] = end,
        };
        foreach (var (m, v) in marks) row[$"serverRssAfter{m:0}sMB"] = v;
        row["pass"] = true;
        res.Steps.Add(row);
        double? retained = start is { } s && end is { } e ? Math.Round(e - s, 1) : null;
        log($"storm: RSS start {start} MB, peak {peak} MB, after {settle:0} s of quiet {end} MB (retained {retained} MB); samples in {sampler.CsvPath}");
        res.Metric("serverRssRetainedMB", retained, "MB", "lower");
        res.Metric("serverRssStartMB", start, "MB", "lower", headline: false);
        res.Metric("serverRssPeakMB", peak, "MB", "lower", headline: false);
        res.Metric("serverRssEndMB", end, "MB", "lower", headline: false);
        res.Notes.Add($"samples: {Path.GetFileName(sampler.CsvPath)}");
        res.Ok = res.Steps.Take(rounds).Any(x => (int)x["connected"]! > 0);
        return res;
    }

    // ---------------------------------------------------------------- soak
    /// <summary>
    /// The soak: N steady subscribers (client i on topic i mod 6) receive a steady stream of
    /// publishes (round-robin over the 6 topics) for --duration-seconds while --churn other clients
    /// keep connecting and dropping (each lives a random time in --churn-hold-ms, half leave with a
    /// close handshake, half just drop the TCP connection). The server's RSS and CPU are sampled
    /// every --sample-seconds into a CSV file. Pass: every steady client received every publish on
    /// its topic exactly once. Headline: RSS growth after warm-up (flat memory is the target).
    /// </summary>
    private async Task<ScenarioResult> SoakAsync()
    {
        var n = o.N ?? (o.Smoke ? 200 : 2000);
        var churn = o.Churn ?? (o.Smoke ? 100 : 1000);
        var duration = o.DurationSeconds ?? (o.Smoke ? 20 : 600);
        var warmup = o.WarmupSeconds ?? (o.Smoke ? 5 : 60);
        var rate = o.Rates?[0] ?? 60;
        var hold = o.ChurnHoldMs ?? [1000, 5000];
        var topicCount = Topics.All.Length;
        var res = new ScenarioResult($"n={n} churn={churn}");
        await using var pool = new ClientPool(o.WsUri, _tracker);
        if (!await ConnectSubscribersAsync(pool, n, i => 1 << (i % topicCount), res)) return res;

        var step = _tracker.Begin($"soak {duration:0} s", (int)Math.Ceiling(rate * duration), pool.Conns.Count);
        var churnStats = new ChurnStats();
        await using var sampler = new ServerSampler(o.ServerPid, SamplesPath("soak"), TimeSpan.FromSeconds(o.SampleSeconds ?? (o.Smoke ? 1 : 5)),
            "serverClients,published,accepted,delivered,churnConnects,churnFailures,steadyOpen");
        var lastClients = "";
        sampler.Extra = () => string.Join(',', lastClients, Interlocked.Read(ref step.Published), Interlocked.Read(ref step.AcceptedCount),
            step.TotalReceived(), Interlocked.Read(ref churnStats.Connects), Interlocked.Read(ref churnStats.Failures), pool.OpenCount);
        using var statsLoop = new CancellationTokenSource();
        var statsTask = Task.Run(async () =>
        {
            while (!statsLoop.IsCancellationRequested)
            {
                lastClients = (await pub.StatsAsync())?.clients.ToString(CultureInfo.InvariantCulture) ?? "";
                try { await Task.Delay(TimeSpan.FromSeconds(1), statsLoop.Token); } catch (OperationCanceledException) { }
            }
        });

        sampler.Phase = "warm-up";
        var warmupEnd = sampler.Elapsed + warmup;
        using var stopChurn = new CancellationTokenSource();
        await using var churnPool = new ClientPool(o.WsUri, new Tracker(), 1024);
        var churners = Enumerable.Range(0, churn).Select(w => ChurnAsync(churnPool, w, hold, churnStats, stopChurn.Token)).ToArray();
        var phaseTask = Task.Run(async () =>
        {
            var wait = warmupEnd - sampler.Elapsed;
            if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait));
            sampler.Phase = "steady";
            sampler.Sample();
        });
        log($"soak: {n} steady subscribers, {rate:0.##} publishes/s for {duration:0} s (warm-up {warmup:0} s), {churn} churning clients; samples in {sampler.CsvPath}");

        var cpu0 = ProcStats.Read(o.ServerPid);
        var publishStart = Stopwatch.GetTimestamp();
        await pub.RunAsync(step, rate, k => k % topicCount, TimeSpan.FromSeconds(o.DrainMax));
        var publishSecs = Stopwatch.GetElapsedTime(publishStart).TotalSeconds;
        await phaseTask;
        sampler.Phase = "end";
        var endReading = sampler.Sample();
        stopChurn.Cancel();
        await Task.WhenAll(churners);
        sampler.Phase = "drain";
        var expected = pool.Conns.Sum(c => step.ExpectedFor(c.TopicMask));
        await DrainAsync(step, expected);
        var cpu1 = ProcStats.Read(o.ServerPid);
        statsLoop.Cancel();
        await statsTask;

        long delivered = 0, lost = 0, dups = 0;
        int subsWithLoss = 0, subsWithDup = 0;
        foreach (var c in pool.Conns)
        {
            var r = step.Received[c.Index];
            var l = Math.Max(0, step.ExpectedFor(c.TopicMask) - r);
            delivered += r;
            lost += l;
            if (l > 0) subsWithLoss++;
            dups += step.Duplicates[c.Index];
            if (step.Duplicates[c.Index] > 0) subsWithDup++;
        }
        var steady = sampler.Readings.Where(x => x.Phase is "steady" or "end").ToList();
        double? rssStart = steady.Count > 0 ? steady[0].RssMb : null;
        double? rssPeak = steady.Count > 0 ? steady.Max(x => x.RssMb) : null;
        double? rssEnd = endReading?.RssMb;
        double? growth = rssStart is { } a && rssEnd is { } b ? Math.Round(b - a, 1) : null;
        var slope = SlopePerMinute(steady);
        var cpuSteady = steady.Where(x => x.CpuPct is not null).Select(x => x.CpuPct!.Value).ToList();
        var lat = step.MergedLatency();
        var steadyDropped = pool.Conns.Count(c => !c.Open);
        var pass = lost == 0 && dups == 0 && step.AcceptedCount == step.Capacity;
        res.Steps.Add(new Dictionary<string, object?>
        {
            ["step"] = 1, ["name"] = $"soak {duration:0} s: {rate:0.##} pub/s to {n} steady + {churn} churning",
            ["subscribers"] = n, ["targetPublishPerSec"] = rate, ["publishSeconds"] = Math.Round(publishSecs, 1),
            ["published"] = step.Published, ["accepted"] = step.AcceptedCount, ["postRejected"] = step.PostRejected, ["postErrors"] = step.PostErrors,
            ["expected"] = expected, ["delivered"] = delivered, ["lost"] = lost, ["subscribersWithLoss"] = subsWithLoss,
            ["duplicates"] = dups, ["subscribersWithDuplicates"] = subsWithDup, ["steadyDropped"] = steadyDropped,
            ["churnConnects"] = churnStats.Connects, ["churnFailures"] = churnStats.Failures, ["churnFirstError"] = churnStats.FirstError,
            ["p50Ms"] = Ms(lat.Quantile(0.5)), ["p99Ms"] = Ms(lat.Quantile(0.99)), ["maxMs"] = Ms(lat.Max),
            ["serverRssStartMB"] = rssStart, ["serverRssPeakMB"] = rssPeak, ["serverRssEndMB"] = rssEnd,
            ["serverRssGrowthMB"] = growth, ["serverRssSlopeMBPerMin"] = slope,
            ["serverCpuPct"] = ProcStats.CpuPercent(cpu0, cpu1),
            ["serverCpuPctMax"] = cpuSteady.Count > 0 ? cpuSteady.Max() : null,
            ["samples"] = sampler.Readings.Count, ["pass"] = pass,
        });
        log($"soak: published {step.Published} (accepted {step.AcceptedCount}), delivered {delivered}/{expected}, lost {lost}, duplicates {dups}, " +
            $"steady dropped {steadyDropped}; churn {churnStats.Connects} connects ({churnStats.Failures} failures); " +
            $"RSS after warm-up {rssStart} MB, peak {rssPeak} MB, end {rssEnd} MB ({slope} MB/min); server CPU {ProcStats.CpuPercent(cpu0, cpu1)}%");
        res.Metric("serverRssGrowthMB", growth, "MB", "lower");
        res.Metric("serverRssSlopeMBPerMin", slope, "MB/min", "lower", headline: false);
        res.Metric("serverRssStartMB", rssStart, "MB", "lower", headline: false);
        res.Metric("serverRssPeakMB", rssPeak, "MB", "lower", headline: false);
        res.Metric("serverRssEndMB", rssEnd, "MB", "lower", headline: false);
        res.Metric("lost", lost, "deliveries", "lower");
        res.Metric("duplicates", dups, "deliveries", "lower", headline: false);
        res.Metric("churnConnects", churnStats.Connects, "connections", "higher", headline: false);
        res.Notes.Add($"samples: {Path.GetFileName(sampler.CsvPath)}");
        if (!pass) res.Notes.Add($"steady clients: {lost} lost ({subsWithLoss} clients), {dups} duplicated, {step.Capacity - step.AcceptedCount} publishes not accepted");
        // A soak that loses or duplicates a message to a steady client fails (also in --smoke).
        res.Ok = delivered > 0 && pass;
        return res;
    }

    /// <summary>Counters of the churning clients, shared by all of them.</summary>
    private sealed class ChurnStats
    {
        public long Connects, Failures;
        public string? FirstError;
    }

    /// <summary>One churning client slot: connect, live a random time, leave (close or drop), again, until stopped.</summary>
    private async Task ChurnAsync(ClientPool churnPool, int worker, double[] holdMs, ChurnStats stats, CancellationToken stop)
    {
        var random = new Random(o.Seed * 100_003 + worker);
        var lifetime = () => TimeSpan.FromMilliseconds(holdMs[0] + random.NextDouble() * (holdMs[1] - holdMs[0]));
        try
        {
            await Task.Delay(lifetime(), stop); // spread the first connects over one lifetime
            for (var k = 0; !stop.IsCancellationRequested; k++)
            {
                var conn = new Conn(worker, 1 << ((worker + k) % Topics.All.Length), 1024);
                if (await churnPool.ConnectOneAsync(conn, Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(10)))
                    Interlocked.Increment(ref stats.Connects);
                else
                {
                    Interlocked.Increment(ref stats.Failures);
                    Interlocked.CompareExchange(ref stats.FirstError, conn.Error, null);
                }
                try { await Task.Delay(lifetime(), stop); }
                finally { await LeaveAsync(conn, graceful: random.Next(2) == 0); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private static async Task LeaveAsync(Conn conn, bool graceful)
    {
        var ws = conn.Ws;
        if (ws is null) return;
        if (graceful && conn.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                for (var i = 0; i < 40 && conn.Open; i++) await Task.Delay(50); // the receive loop sees the server's close
            }
            catch (Exception) { }
        }
        try { ws.Abort(); ws.Dispose(); } catch (Exception) { }
        conn.Open = false;
    }

    /// <summary>Least-squares slope of RSS over time, in MB per minute (null for fewer than 3 readings).</summary>
    private static double? SlopePerMinute(IReadOnlyList<ServerReading> r)
    {
        if (r.Count < 3) return null;
        double mx = r.Average(x => x.Seconds), my = r.Average(x => x.RssMb);
        double sxy = 0, sxx = 0;
        foreach (var x in r)
        {
            sxy += (x.Seconds - mx) * (x.RssMb - my);
            sxx += (x.Seconds - mx) * (x.Seconds - mx);
        }
        return sxx > 0 ? Math.Round(sxy / sxx * 60, 2) : null;
    }
}
