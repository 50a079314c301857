using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Bench.LoadGen;

/// <summary>
/// Posts to /api/publish at a paced rate with one HttpClient (SocketsHttpHandler, keep-alive).
/// A dedicated pacing thread computes how many publishes are due (rate x elapsed) every
/// millisecond and starts them; at most <see cref="MaxInFlight"/> POSTs are outstanding.
/// Each body carries {"seq":N,"sentAt":T,"pad":"..."} where T is the *scheduled* send time
/// (Stopwatch ticks), so a publisher held back by a slow server still counts the delay in the
/// latency (no coordinated omission).
/// </summary>
public sealed partial class Publisher : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _publishUri;
    private readonly byte[][] _prefixes;
    private readonly byte[] _suffix;
    private readonly SemaphoreSlim _inFlight;
    public int MaxInFlight { get; }
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <param name="frameBytes">approximate size of the frame each subscriber receives; the pad is sized for it.</param>
    /// <param name="messageType">UPDATE (the default) or ALERT.</param>
    public Publisher(Uri httpBase, string apiKey, int frameBytes = 380, int maxInFlight = 128, string messageType = "UPDATE")
    {
        MaxInFlight = maxInFlight;
        _inFlight = new SemaphoreSlim(maxInFlight);
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = maxInFlight,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        { Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        _http.DefaultRequestHeaders.ExpectContinue = false;
        _publishUri = new Uri(httpBase, "/api/publish");
        _prefixes = Topics.All.Select(t => Encoding.UTF8.GetBytes($"{{\"type\":\"{messageType}\",\"topic\":\"{t}\",\"data\":{{\"seq\":")).ToArray();
        // Delivered frame: {"type":"UPDATE","topic":"cameras","data":{"seq":N,"sentAt":T,"pad":"..."},"timestamp":"2025-11-29T10:30:00.0000000Z"}
        var withoutPad = $"{{\"type\":\"UPDATE\",\"topic\":\"cameras\",\"data\":{{\"seq\":1000,\"sentAt\":1000000000000000,\"pad\":\"\"}},\"timestamp\":\"2025-11-29T10:30:00.000Z\"}}".Length;
        var pad = new string('x', Math.Max(0, frameBytes - withoutPad));
        _suffix = Encoding.UTF8.GetBytes($",\"pad\":\"{pad}\"}}}}");
    }

    public async Task<bool> HealthAsync()
    {
        try { using var r = await _http.GetAsync(new Uri(_publishUri, "/health")); return r.IsSuccessStatusCode; }
        catch (Exception) { return false; }
    }

    public async Task<(int clients, Dictionary<string, int> topics)?> StatsAsync()
    {
        try
        {
            var s = await _http.GetStringAsync(new Uri(_publishUri, "/api/stats"));
            var node = System.Text.Json.Nodes.JsonNode.Parse(s)!;
            var topics = new Dictionary<string, int>();
            if (node["topics"] is System.Text.Json.Nodes.JsonObject o)
                foreach (var kv in o)
                    if (kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<int>(out var n)) topics[kv.Key] = n;
            return (node["clients"]!.GetValue<int>(), topics);
        }
        catch (Exception) { return null; }
    }

    /// <summary>Publishes Capacity messages of <paramref name="step"/> at <paramref name="rate"/>/s, then waits for the POSTs to finish.</summary>
    /// <param name="stop">ends the publishing early (before Capacity publishes); those started are still awaited.</param>
    public async Task RunAsync(Step step, double rate, Func<int, int> topicOf, TimeSpan postDrainTimeout, CancellationToken stop = default)
    {
        var total = step.Capacity;
        for (var i = 0; i < total; i++) step.TopicOfSeq[i] = (byte)topicOf(i);
        var pending = new List<Task>(total);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        var ticksPerPublish = Stopwatch.Frequency / rate;
        var pacer = new Thread(() =>
        {
            try
            {
                var sent = 0;
                while (sent < total && !stop.IsCancellationRequested)
                {
                    var now = Stopwatch.GetTimestamp();
                    var due = Math.Min(total, (long)((now - start) / ticksPerPublish) + 1);
                    while (sent < due)
                    {
                        var scheduled = start + (long)(sent * ticksPerPublish);
                        if (!_inFlight.Wait(0))
                        {
                            _inFlight.Wait(); // server is slow to answer: we fall behind; latency still counts from `scheduled`
                        }
                        step.PublisherLag.Record((Stopwatch.GetTimestamp() - scheduled) * 1_000_000 / Stopwatch.Frequency);
                        lock (pending) pending.Add(PostOneAsync(step, sent, scheduled));
                        sent++;
                    }
                    if (sent < total && !stop.IsCancellationRequested)
                    {
                        var nextAt = start + (long)(sent * ticksPerPublish);
                        var waitMs = (nextAt - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                        Thread.Sleep(waitMs > 1 ? (int)Math.Min(waitMs, 50) : 1);
                    }
                }
                done.TrySetResult();
            }
            catch (Exception e) { done.TrySetException(e); }
        })
        { IsBackground = true, Name = "publisher-pacer" };
        pacer.Start();
        await done.Task;
        Task[] all;
        lock (pending) all = pending.ToArray();
        await Task.WhenAny(Task.WhenAll(all), Task.Delay(postDrainTimeout));
    }

    /// <summary>
    /// The sum of every sample of a counter in the server's Prometheus text (GET /metrics), e.g.
    /// traffic_messages_conflated_total over all its topics; null when the server has no /metrics or no such counter.
    /// </summary>
    public async Task<double?> MetricSumAsync(string name)
    {
        try
        {
            var text = await _http.GetStringAsync(new Uri(_publishUri, "/metrics"));
            double? sum = null;
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || (line[name.Length] != ' ' && line[name.Length] != '{')) continue;
                // "name{labels} value [timestamp]": the value is the first field after the labels.
                var valueAt = line[name.Length] == '{' ? line.LastIndexOf('}') + 1 : name.Length;
                var fields = line[valueAt..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 0 && double.TryParse(fields[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
                    sum = (sum ?? 0) + v;
            }
            return sum;
        }
        catch (Exception) { return null; }
    }

    /// <summary>Publishes one message right now (used for one-to-all and warm-ups); returns the send timestamp.</summary>
    public async Task<long> PublishNowAsync(Step step, int offset, int topic)
    {
        step.TopicOfSeq[offset] = (byte)topic;
        var now = Stopwatch.GetTimestamp();
        await _inFlight.WaitAsync();
        await PostOneAsync(step, offset, now);
        return now;
    }

    private async Task PostOneAsync(Step step, int offset, long sentAt)
    {
        var buf = ArrayPool<byte>.Shared.Rent(_suffix.Length + 256); // room for any --frame-bytes
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            var len = WriteBody(buf, step.TopicOfSeq[offset], step.FirstSeq + offset, sentAt);
            using var content = new ByteArrayContent(buf, 0, len);
            content.Headers.ContentType = Json;
            Interlocked.Increment(ref step.Published);
            using var resp = await _http.PostAsync(_publishUri, content).ConfigureAwait(false);
            if (resp.StatusCode == HttpStatusCode.Accepted || resp.StatusCode == HttpStatusCode.OK) step.MarkAccepted(offset);
            else Interlocked.Increment(ref step.PostRejected);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref step.PostErrors);
        }
        finally
        {
            var micros = (Stopwatch.GetTimestamp() - t0) * 1_000_000 / Stopwatch.Frequency;
            lock (step.PostLatency) step.PostLatency.Record(micros);
            ArrayPool<byte>.Shared.Return(buf);
            _inFlight.Release();
        }
    }

    private int WriteBody(byte[] buf, int topic, long seq, long sentAt)
    {
        var span = buf.AsSpan();
        var p = _prefixes[topic];
        p.CopyTo(span);
        var n = p.Length;
        Utf8Formatter.TryFormat(seq, span[n..], out var w); n += w;
        ",\"sentAt\":"u8.CopyTo(span[n..]); n += 10;
        Utf8Formatter.TryFormat(sentAt, span[n..], out w); n += w;
        _suffix.CopyTo(span[n..]); n += _suffix.Length;
        return n;
    }

    public void Dispose() => _http.Dispose();
}
