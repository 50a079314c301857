using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Bench.LoadGen;

/// <summary>What one rolling-restart client received: the restart storm's log plus the epoch of each numbered frame.</summary>
public sealed class RollingLog : RestartLog
{
    /// <summary>Per received ALERT/UPDATE frame (aligned with Offsets): its epoch.</summary>
    public readonly List<string?> Epochs = new();
    public byte[]? LastEpochBytes;
}

/// <summary>
/// rolling-restart (issue 20): N subscribers of accidents through nginx in front of a cluster, and a
/// steady ALERT publisher, while bench/rolling-restart.sh stops each node gracefully (SIGTERM by
/// PID) and starts it again, one after the other. Each client, whenever its connection ends, comes
/// back through nginx with its position (since=accidents:EPOCH:OFFSET), as the client library does.
/// The publisher retries a 503 or a POST without an answer until it is answered 202. Control by
/// files in --dir: this process writes "publishing" once the ALERTs flow; the script writes "stop"
/// when the last node is back. Then everyone gets up to 60 s to catch up, the nodes are asked how
/// many clients each holds (--nodes), and the losses and duplicates are counted.
/// </summary>
public sealed partial class Scenarios
{
    private async Task<ScenarioResult> RollingRestartAsync()
    {
        var n = o.N ?? (o.Smoke ? 100 : 3000);
        var rate = o.Rates?[0] ?? (o.Smoke ? 20 : 50);
        var dir = o.Dir ?? throw new ArgumentException("rolling-restart needs --dir (bench/rolling-restart.sh gives it)");
        var maxPublish = o.DurationSeconds ?? (o.Smoke ? 240 : 900);
        var res = new ScenarioResult($"n={n}, {rate:0.##} ALERT/s, {o.Nodes.Length} nodes behind {o.Url.Authority}{(o.Persistence is null ? "" : ", PERSISTENCE=" + o.Persistence)}");
        using var alerts = new Publisher(o.Url, o.Key, o.FrameBytes, maxInFlight: 128, messageType: "ALERT");
        await using var pool = new ClientPool(o.WsUri, _tracker, 16 * 1024);
        pool.OnFrameOverride = OnRollingFrame;
        var accidents = 1 << AccidentsTopic;
        var baseUri = ClientPool.UriFor(o.WsUri, accidents);
        Volatile.Write(ref _restartStopAt, 0);

        var warm = _tracker.Begin("rolling-restart warm-up", 1, 1);
        await alerts.PublishNowAsync(warm, 0, AccidentsTopic);

        var logs = Enumerable.Range(0, n).Select(_ => new RollingLog()).ToArray();
        using var stopClients = new CancellationTokenSource();
        using var gate = new SemaphoreSlim(o.Concurrency);
        var connectedOnce = 0;
        long reconnectAttempts = 0, connectFailures = 0;
        var hardEnd = Stopwatch.GetTimestamp() + (long)((maxPublish + 300) * Stopwatch.Frequency);
        async Task ClientAsync(int i)
        {
            var log = logs[i];
            var failures = 0;
            var rnd = new Random(i);
            while (!stopClients.IsCancellationRequested && Stopwatch.GetTimestamp() < hardEnd)
            {
                var since = log.Last >= 0 && log.Epoch is not null;
                var conn = new Conn(i, accidents, 16 * 1024)
                {
                    Tag = log,
                    Url = since ? new Uri(baseUri + $"&since=accidents:{log.Epoch}:{log.Last}") : baseUri,
                };
                lock (pool.Conns) pool.Conns.Add(conn);
                bool ok;
                await gate.WaitAsync();
                try { ok = await pool.ConnectOneAsync(conn, Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(15)); }
                finally { gate.Release(); }
                if (log.Connections > 0) Interlocked.Increment(ref reconnectAttempts);
                if (!ok)
                {
                    failures++;
                    Interlocked.Increment(ref connectFailures);
                    lock (pool.Conns) pool.Conns.Remove(conn);
                    try { await Task.Delay(Math.Min(2000, 100 * failures) + rnd.Next(100), stopClients.Token); } catch (OperationCanceledException) { }
                    continue;
                }
                failures = 0;
                if (log.Connections++ == 0) Interlocked.Increment(ref connectedOnce);
                if (since) log.ConnectionsWithSince++;
                while (!conn.ReceiveDone && !stopClients.IsCancellationRequested)
                    try { await Task.Delay(100, stopClients.Token); } catch (OperationCanceledException) { }
                if (stopClients.IsCancellationRequested) return;
                lock (pool.Conns) pool.Conns.Remove(conn);
                try { await Task.Delay(rnd.Next(50, 250), stopClients.Token); } catch (OperationCanceledException) { }
            }
        }

        var t0 = Stopwatch.GetTimestamp();
        var clientTasks = Enumerable.Range(0, n).Select(i => Task.Run(() => ClientAsync(i))).ToArray();
        while (Volatile.Read(ref connectedOnce) < n && Stopwatch.GetElapsedTime(t0).TotalSeconds < 180) await Task.Delay(50);
        log($"rolling-restart: {connectedOnce}/{n} clients connected in {Stopwatch.GetElapsedTime(t0).TotalSeconds:0.0} s; per node {string.Join(", ", (await NodeCountsAsync()).Select(kv => $"{kv.Key}={kv.Value}"))}");

        var capacity = (int)Math.Ceiling(rate * (maxPublish + 10));
        var step = _tracker.Begin("rolling-restart ALERTs", capacity, 1);
        for (var k = 0; k < capacity; k++) step.TopicOfSeq[k] = AccidentsTopic;
        var acceptedAt = new long[capacity];
        var statusCounts = new Dictionary<string, long>();
        long retries503 = 0, retriesNoAnswer = 0, gaveUp = 0, published = 0;
        using var stopPublishing = new CancellationTokenSource();
        var inFlight = new SemaphoreSlim(128);
        var pending = new List<Task>();
        async Task PublishOneAsync(int k, long scheduled)
        {
            try
            {
                var deadline = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
                while (true)
                {
                    var (status, retryAfter) = await alerts.PostStatusAsync(step, k, scheduled);
                    lock (statusCounts) statusCounts[status?.ToString() ?? "no answer"] = statusCounts.GetValueOrDefault(status?.ToString() ?? "no answer") + 1;
                    if (status is HttpStatusCode.Accepted or HttpStatusCode.OK)
                    {
                        acceptedAt[k] = Stopwatch.GetTimestamp();
                        step.MarkAccepted(k);
                        return;
                    }
                    if (Stopwatch.GetTimestamp() > deadline) { Interlocked.Increment(ref gaveUp); return; }
                    if (status is null) Interlocked.Increment(ref retriesNoAnswer);
                    else Interlocked.Increment(ref retries503);
                    var wait = status is null ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromMilliseconds(Math.Clamp((retryAfter ?? TimeSpan.FromSeconds(1)).TotalMilliseconds, 100, 1000));
                    await Task.Delay(wait);
                }
            }
            finally { inFlight.Release(); }
        }
        var pacer = Task.Run(async () =>
        {
            var start = Stopwatch.GetTimestamp();
            var ticksPer = Stopwatch.Frequency / rate;
            for (var k = 0; k < capacity && !stopPublishing.IsCancellationRequested; k++)
            {
                var scheduled = start + (long)(k * ticksPer);
                var wait = (scheduled - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                if (wait > 0) { try { await Task.Delay((int)wait, stopPublishing.Token); } catch (OperationCanceledException) { break; } }
                await inFlight.WaitAsync();
                Interlocked.Increment(ref published);
                Interlocked.Increment(ref step.Published);
                lock (pending) pending.Add(PublishOneAsync(k, scheduled));
            }
        });
        await File.WriteAllTextAsync(Path.Combine(dir, "publishing"), "publishing\n");
        log($"rolling-restart: publishing {rate} ALERT/s through {o.Url}; waiting for {Path.Combine(dir, "stop")} (at most {maxPublish} s)");
        var pubT0 = Stopwatch.GetTimestamp();
        while (!File.Exists(Path.Combine(dir, "stop")) && Stopwatch.GetElapsedTime(pubT0).TotalSeconds < maxPublish) await Task.Delay(200);
        if (!File.Exists(Path.Combine(dir, "stop"))) res.Notes.Add($"no stop file within {maxPublish} s: the restarts did not finish");
        await Task.Delay(TimeSpan.FromSeconds(o.Smoke ? 2 : 5)); // a few more ALERTs with everything back
        stopPublishing.Cancel();
        await pacer;
        Task[] all;
        lock (pending) all = pending.ToArray();
        await Task.WhenAny(Task.WhenAll(all), Task.Delay(TimeSpan.FromSeconds(130)));
        var publishSecs = Stopwatch.GetElapsedTime(pubT0).TotalSeconds;

        var acceptedSeqs = Enumerable.Range(0, capacity).Where(k => acceptedAt[k] != 0).Select(k => step.FirstSeq + k).ToArray();
        var catchUpMax = o.Smoke ? 15 : 60;
        var drainStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(drainStart).TotalSeconds < catchUpMax)
        {
            var behind = 0;
            foreach (var l in logs)
            {
                HashSet<long> have;
                lock (l) have = new HashSet<long>(l.Seqs);
                if (!acceptedSeqs.All(have.Contains)) behind++;
            }
            if (behind == 0) break;
            await Task.Delay(250);
        }
        var catchUpSecs = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;
        // Where everyone ended: open connections here, clients per node there.
        await Task.Delay(1000);
        Conn[] open;
        lock (pool.Conns) open = pool.Conns.Where(c => c.Open).ToArray();
        var openClients = open.Select(c => c.Index).Distinct().Count();
        var perNode = await NodeCountsAsync();
        stopClients.Cancel();
        await Task.WhenAll(clientTasks);
        Conn[] conns;
        lock (pool.Conns) conns = pool.Conns.ToArray();
        foreach (var c in conns) { c.Open = false; try { c.Ws?.Abort(); } catch (Exception) { } }
        var loopsEnd = Stopwatch.GetTimestamp() + 5 * Stopwatch.Frequency;
        while (conns.Any(c => c.ConnectedAt != 0 && !c.ReceiveDone) && Stopwatch.GetTimestamp() < loopsEnd) await Task.Delay(20);

        // ---- analysis
        var offsetsOfSeq = new Dictionary<long, HashSet<(string?, long)>>();
        long lost = 0, lostSilently = 0, dupSameOffset = 0, dupSeq = 0;
        int clientsWithLoss = 0, clientsWithDup = 0, resumedTrue = 0, resumedFalse = 0, withSince = 0, connections = 0, maxConnections = 0;
        var reasons = new Dictionary<string, int>();
        var epochs = new HashSet<string?>();
        for (var i = 0; i < n; i++)
        {
            var l = logs[i];
            List<long> seqList; List<long> offs; List<string?> eps;
            lock (l) { seqList = l.Seqs.ToList(); offs = l.Offsets.ToList(); eps = l.Epochs.ToList(); }
            connections += l.Connections;
            maxConnections = Math.Max(maxConnections, l.Connections);
            withSince += l.ConnectionsWithSince;
            resumedTrue += l.ResumedTrueFrames;
            resumedFalse += l.ResumedFalseFrames;
            foreach (var kv in l.FalseReasons) reasons[kv.Key] = reasons.GetValueOrDefault(kv.Key) + kv.Value;
            var positions = new HashSet<(string?, long)>();
            var seqs = new HashSet<long>();
            var hadDup = false;
            for (var k = 0; k < offs.Count && k < seqList.Count; k++)
            {
                var ep = k < eps.Count ? eps[k] : null;
                epochs.Add(ep);
                var s = seqList[k];
                if (!positions.Add((ep, offs[k]))) { dupSameOffset++; hadDup = true; continue; }
                if (s < 0) continue;
                if (!offsetsOfSeq.TryGetValue(s, out var set)) offsetsOfSeq[s] = set = new();
                set.Add((ep, offs[k]));
                if (!seqs.Add(s)) { dupSeq++; hadDup = true; }
            }
            if (hadDup) clientsWithDup++;
            var clientLost = acceptedSeqs.Count(s => !seqs.Contains(s));
            lost += clientLost;
            if (l.ResumedFalseFrames == 0) lostSilently += clientLost;
            if (clientLost > 0)
            {
                clientsWithLoss++;
                if (clientsWithLoss <= 3)
                    log($"rolling-restart: client {i} lost {clientLost}: first missing seqs {string.Join(",", acceptedSeqs.Where(s => !seqs.Contains(s)).Take(10))}; connections {l.Connections}, RESUMED {l.ResumedFrames} (true {l.ResumedTrueFrames}); last offset {l.Last}");
            }
        }
        var writtenTwice = offsetsOfSeq.Values.Count(s => s.Count > 1);
        var receivedByAnyone = new HashSet<long>();
        foreach (var l in logs) lock (l) receivedByAnyone.UnionWith(l.Seqs);
        var lostSeqs = acceptedSeqs.Where(s => !receivedByAnyone.Contains(s)).ToArray();
        var statusText = string.Join(", ", statusCounts.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value}"));
        var resumes = resumedTrue + resumedFalse;
        var sumNodes = perNode.Values.Sum(x => x ?? 0);
        var pass = lost == 0 && dupSameOffset + dupSeq == 0 && openClients == n && sumNodes == n;
        res.Steps.Add(new Dictionary<string, object?>
        {
            ["step"] = 1, ["name"] = $"{n} clients through nginx, every node restarted in turn",
            ["subscribers"] = n, ["connected"] = connectedOnce, ["connections"] = connections, ["maxConnectionsPerClient"] = maxConnections,
            ["connectionsWithSince"] = withSince, ["reconnectAttempts"] = reconnectAttempts, ["connectFailures"] = connectFailures,
            ["openAtEnd"] = openClients, ["perNodeAtEnd"] = string.Join(",", perNode.Select(kv => $"{kv.Key}={kv.Value?.ToString() ?? "?"}")), ["sumNodes"] = sumNodes,
            ["targetPublishPerSec"] = rate, ["publishSeconds"] = Math.Round(publishSecs, 1), ["published"] = published, ["accepted"] = acceptedSeqs.Length,
            ["postAnswers"] = statusText, ["retries503"] = retries503, ["retriesNoAnswer"] = retriesNoAnswer, ["gaveUp"] = gaveUp,
            ["lost"] = lost, ["lostSilently"] = lostSilently, ["lostByEveryone"] = lostSeqs.Length, ["subscribersWithLoss"] = clientsWithLoss,
            ["duplicated"] = dupSameOffset + dupSeq, ["duplicatedSameOffset"] = dupSameOffset, ["duplicatedSeqNewOffset"] = dupSeq, ["subscribersWithDuplicates"] = clientsWithDup,
            ["writtenTwice"] = writtenTwice, ["epochs"] = epochs.Count(e => e is not null),
            ["resumedTrue"] = resumedTrue, ["resumedFalse"] = resumedFalse, ["recoveredPct"] = resumes > 0 ? Math.Round(resumedTrue * 100.0 / resumes, 2) : null,
            ["notRecoveredReasons"] = reasons.Count == 0 ? null : string.Join(",", reasons.Select(kv => $"{kv.Key}:{kv.Value}")),
            ["catchUpSeconds"] = Math.Round(catchUpSecs, 1), ["loadAvg1"] = LoadAverage(), ["firstError"] = pool.FirstError, ["pass"] = pass,
        });
        log($"rolling-restart: published {published}, accepted {acceptedSeqs.Length} ({statusText}; gave up {gaveUp}); open at end {openClients}/{n}, per node {string.Join(", ", perNode.Select(kv => $"{kv.Key}={kv.Value}"))} (sum {sumNodes}); " +
            $"lost {lost} ({clientsWithLoss} clients; silently {lostSilently}; {lostSeqs.Length} ALERTs answered 202 reached nobody{(lostSeqs.Length > 0 ? ": seqs " + string.Join(",", lostSeqs.Take(12)) : "")}), duplicated {dupSameOffset + dupSeq} (same offset {dupSameOffset}, same ALERT at a new offset {dupSeq}; written twice {writtenTwice}); " +
            $"RESUMED recovered true {resumedTrue} / false {resumedFalse} {string.Join(",", reasons.Select(kv => $"{kv.Key}:{kv.Value}"))}; epochs seen {epochs.Count(e => e is not null)}; connections {connections} (max {maxConnections} per client)");
        res.Metric("lost", lost, "messages", "lower");
        res.Metric("duplicated", dupSameOffset + dupSeq, "messages", "lower");
        res.Metric("lostByEveryone", lostSeqs.Length, "ALERTs", "lower", headline: false);
        res.Metric("resumedTrue", resumedTrue, "RESUMED", "higher", headline: false);
        res.Metric("resumedFalse", resumedFalse, "RESUMED", "lower", headline: false);
        res.Metric("openAtEnd", openClients, "clients", "higher");
        if (!pass) res.Notes.Add($"target missed: lost {lost} (silently {lostSilently}, {lostSeqs.Length} ALERTs reached nobody), duplicated {dupSameOffset + dupSeq}, open at end {openClients}/{n}, nodes hold {sumNodes}");
        // The run itself works when it published and everyone came back; the losses are the finding, reported.
        res.Ok = acceptedSeqs.Length > 0 && connectedOnce == n;
        return res;
    }

    private async Task<Dictionary<string, int?>> NodeCountsAsync()
    {
        var r = new Dictionary<string, int?>();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var u in o.Nodes)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(u, "/api/stats")));
                r[u.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)] = doc.RootElement.GetProperty("clients").GetInt32();
            }
            catch (Exception) { r[u.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)] = null; }
        }
        return r;
    }

    private void OnRollingFrame(Conn c, ReadOnlySpan<byte> frame, long now)
    {
        if (c.Tag is not RollingLog log) return;
        lock (log)
        {
            var before = log.Offsets.Count;
            OnRestartFrame(c, frame, now);
            if (log.Offsets.Count > before)
            {
                var at = frame.IndexOf(EpochKey);
                string? ep = null;
                if (at >= 0)
                {
                    var rest = frame[(at + EpochKey.Length)..];
                    var end = rest.IndexOf((byte)'"');
                    if (end >= 0)
                    {
                        var last = log.Epochs.Count > 0 ? log.Epochs[^1] : null;
                        if (last is not null && log.LastEpochBytes is { } lb && rest[..end].SequenceEqual(lb)) ep = last;
                        else { log.LastEpochBytes = rest[..end].ToArray(); ep = System.Text.Encoding.UTF8.GetString(rest[..end]); }
                    }
                }
                log.Epochs.Add(ep);
            }
        }
    }
}
