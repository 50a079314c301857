using System.Diagnostics;
using System.Net;

namespace Bench.LoadGen;

/// <summary>Publishing pieces of the persistence scenarios (issue 18): a closed loop and a POST that reports its status.</summary>
public sealed partial class Publisher
{
    /// <summary>
    /// Closed loop: <paramref name="inFlight"/> workers each POST the next message as soon as their
    /// previous one is answered, for <paramref name="seconds"/> or until the step's capacity is used.
    /// What it measures is the publishes answered 202 per second with that many in flight. The
    /// latency of each delivery counts from the moment its POST started.
    /// </summary>
    public async Task<double> RunClosedLoopAsync(Step step, int inFlight, double seconds, int topic)
    {
        for (var i = 0; i < step.Capacity; i++) step.TopicOfSeq[i] = (byte)topic;
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, Math.Min(inFlight, MaxInFlight)).Select(async _ =>
        {
            await Task.Yield();
            while (Stopwatch.GetTimestamp() < end)
            {
                var k = Interlocked.Increment(ref next);
                if (k >= step.Capacity) return;
                await _inFlight.WaitAsync().ConfigureAwait(false);
                await PostOneAsync(step, k, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>One POST of message <paramref name="offset"/> of <paramref name="step"/>; its status code, or null when no answer came (refused, reset, timeout).</summary>
    public async Task<(HttpStatusCode? Status, TimeSpan? RetryAfter)> PostStatusAsync(Step step, int offset, long sentAt)
    {
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(_suffix.Length + 256);
        try
        {
            var len = WriteBody(buf, step.TopicOfSeq[offset], step.FirstSeq + offset, sentAt);
            using var content = new ByteArrayContent(buf, 0, len);
            content.Headers.ContentType = Json;
            using var resp = await _http.PostAsync(_publishUri, content).ConfigureAwait(false);
            return (resp.StatusCode, resp.Headers.RetryAfter?.Delta);
        }
        catch (Exception)
        {
            return (null, null);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>GET a path of the server; its status code, or null when the server did not answer.</summary>
    public async Task<HttpStatusCode?> GetStatusAsync(string path)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var r = await _http.GetAsync(new Uri(_publishUri, path), cts.Token);
            return r.StatusCode;
        }
        catch (Exception) { return null; }
    }
}

/// <summary>
/// durable-publish (issue 18): what writing every numbered message to the journal before it is
/// delivered and before the 202 costs. Run against a server with PERSISTENCE=none, sqlite or
/// postgres (run.sh interleaves them). A few subscribers of accidents; step 1 publishes ALERTs at a
/// fixed rate (publish-to-delivery latency, from the scheduled send time); then closed-loop steps
/// with 8, 32, 64 POSTs in flight (the highest rate of publishes answered 202).
/// </summary>
public sealed partial class Scenarios
{
    private async Task<ScenarioResult> DurablePublishAsync()
    {
        var n = o.N ?? (o.Smoke ? 2 : 10);
        var rate = o.Rates?[0] ?? (o.Smoke ? 50 : 200);
        var seconds = o.StepSeconds ?? (o.Smoke ? 1 : 10);
        var inFlights = o.InFlight ?? (o.Smoke ? [8] : [8, 32, 64]);
        var backend = o.Persistence ?? "?";
        var res = new ScenarioResult($"n={n}, {rate:0.##} ALERT/s, in flight {string.Join("/", inFlights)}"); // the backend is in the target label (ours-none, ours-sqlite, ours-postgres)
        using var alerts = new Publisher(o.Url, o.Key, o.FrameBytes, maxInFlight: 128, messageType: "ALERT");
        await using var pool = new ClientPool(o.WsUri, _tracker, 16 * 1024);
        if (!await ConnectSubscribersAsync(pool, n, _ => 1 << AccidentsTopic, res)) return res;

        // Warm-up: 2 s at the fixed rate, not measured (JIT, connection pools, the journal's first writes).
        var warm = _tracker.Begin("durable warm-up", (int)Math.Ceiling(rate * (o.Smoke ? 0.5 : 2)), pool.Conns.Count);
        await alerts.RunAsync(warm, rate, _ => AccidentsTopic, TimeSpan.FromSeconds(o.DrainMax));
        await DrainAsync(warm, pool.Conns.Count * warm.AcceptedCount);

        var latency = _tracker.Begin($"{rate:0.##} ALERT/s", (int)Math.Ceiling(rate * seconds), pool.Conns.Count);
        var row = await DurableStepAsync(pool, 1, latency, seconds, rate, null,
            () => alerts.RunAsync(latency, rate, _ => AccidentsTopic, TimeSpan.FromSeconds(o.DrainMax)).ContinueWith(_ => seconds));
        res.Steps.Add(row);
        res.Metric("p50Ms", row["p50Ms"], "ms", "lower");
        res.Metric("p99Ms", row["p99Ms"], "ms", "lower");
        res.Metric("postP50Ms", row["postP50Ms"], "ms", "lower", headline: false);

        double best = 0;
        int? bestInFlight = null;
        var index = 2;
        foreach (var c in inFlights)
        {
            // Room for 20 000 publishes/s: far above what one server core answers here.
            var step = _tracker.Begin($"closed loop, {c} in flight", (int)Math.Min(2_000_000, 20_000 * seconds), pool.Conns.Count);
            var r = await DurableStepAsync(pool, index++, step, seconds, null, c, () => alerts.RunClosedLoopAsync(step, c, seconds, AccidentsTopic));
            res.Steps.Add(r);
            // Sustained: every accepted publish delivered to every subscriber, nothing refused.
            var acceptedPerSec = (double)r["acceptedPerSec"]!;
            if ((long)r["lost"]! == 0 && (long)r["postRejected"]! == 0 && (long)r["postErrors"]! == 0 && acceptedPerSec > best) { best = acceptedPerSec; bestInFlight = c; }
        }
        res.Metric("maxAcceptedPerSec", best, "publishes/s", "higher");
        res.Metric("maxAcceptedInFlight", bestInFlight, "POSTs", "n/a", headline: false);
        var lostAll = res.Steps.Sum(s => (long)s["lost"]!);
        var dupAll = res.Steps.Sum(s => (long)s["duplicates"]!);
        res.Metric("lost", lostAll, "messages", "lower", headline: false);
        res.Metric("duplicated", dupAll, "messages", "lower", headline: false);
        if (lostAll > 0 || dupAll > 0) res.Notes.Add($"not clean: {lostAll} accepted ALERTs never delivered, {dupAll} delivered twice");
        res.Notes.Add($"persistence {backend}; max sustained {best:0} publishes answered 202/s ({bestInFlight} in flight)");
        res.Ok = lostAll == 0 && dupAll == 0 && res.Steps.All(s => (long)s["accepted"]! > 0);
        return res;
    }

    private async Task<Dictionary<string, object?>> DurableStepAsync(ClientPool pool, int index, Step step, double seconds, double? rate, int? inFlight, Func<Task<double>> publish)
    {
        var cpu0 = ProcStats.Read(o.ServerPid);
        var self0 = ProcStats.Self();
        var publishSecs = await publish();
        var expected = pool.Conns.Count * step.AcceptedCount;
        await DrainAsync(step, expected);
        var cpu1 = ProcStats.Read(o.ServerPid);
        var self1 = ProcStats.Self();
        long delivered = 0, dups = 0;
        foreach (var c in pool.Conns) { delivered += step.Received[c.Index]; dups += step.Duplicates[c.Index]; }
        var lost = Math.Max(0, expected - delivered);
        var lat = step.MergedLatency();
        Histogram post;
        lock (step.PostLatency) { post = new Histogram(); post.Add(step.PostLatency); }
        var acceptedPerSec = Math.Round(step.AcceptedCount / publishSecs, 1);
        var row = new Dictionary<string, object?>
        {
            ["step"] = index, ["name"] = step.Name, ["subscribers"] = pool.Conns.Count,
            ["targetPublishPerSec"] = rate, ["inFlight"] = inFlight,
            ["published"] = step.Published, ["accepted"] = step.AcceptedCount, ["acceptedPerSec"] = acceptedPerSec,
            ["postRejected"] = step.PostRejected, ["postErrors"] = step.PostErrors, ["publishSeconds"] = Math.Round(publishSecs, 2),
            ["expectedFromAccepted"] = expected, ["delivered"] = delivered, ["lost"] = lost, ["duplicates"] = dups,
            ["meanMs"] = Math.Round(lat.Mean / 1000.0, 3), ["p50Ms"] = Ms(lat.Quantile(0.5)), ["p90Ms"] = Ms(lat.Quantile(0.9)),
            ["p99Ms"] = Ms(lat.Quantile(0.99)), ["maxMs"] = Ms(lat.Max),
            ["postP50Ms"] = Ms(post.Quantile(0.5)), ["postP99Ms"] = Ms(post.Quantile(0.99)),
            ["serverCpuPct"] = ProcStats.CpuPercent(cpu0, cpu1), ["serverRssMB"] = Mb(cpu1?.RssKb),
            ["loadgenCpuPct"] = ProcStats.CpuPercent(self0, self1), ["loadAvg1"] = LoadAverage(),
            ["pass"] = lost == 0 && dups == 0,
        };
        log($"  step {index} [{step.Name}]: accepted {step.AcceptedCount} ({acceptedPerSec}/s), refused {step.PostRejected}, errors {step.PostErrors}; delivered {delivered}/{expected}, dup {dups}; " +
            $"p50 {row["p50Ms"]} ms, p99 {row["p99Ms"]} ms; POST p50 {row["postP50Ms"]} ms, p99 {row["postP99Ms"]} ms; server CPU {row["serverCpuPct"]}%, load {row["loadAvg1"]}");
        return row;
    }

    /// <summary>The 1-minute load average of the machine (/proc/loadavg): the machine is shared.</summary>
    private static double? LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception) { return null; }
    }
}
