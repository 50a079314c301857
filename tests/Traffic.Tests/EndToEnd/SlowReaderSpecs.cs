using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// A client that stops reading: its UPDATEs are conflated per topic, its ALERTs kept in order, and
/// only ALERTs that overflow its outbound queue close it (1013). Real Kestrel, real WebSocket client.
/// </summary>
[Collection(MetricsCollection.Name)]
[Trait("Speed", "Slow")]
public sealed class SlowReaderSpecs
{
    /// <summary>256 KB of data: a few dozen such frames fill the loopback sockets' buffers, after which frames wait in the server's queue.</summary>
    private static readonly string Padding = new('x', 256 * 1024);

    private sealed record Sent(string Type, string Topic, int Seq);

    [Fact]
    public async Task A_client_that_stops_reading_and_resumes_gets_every_alert_in_order_and_the_newest_update_of_each_topic()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });
        using var slow = new PausedClient();
        await slow.ConnectAsync(service.WebSocketUri("/ws?topics=cameras,weather,accidents"));
        await Poll.UntilAsync(async () => (await service.StatsAsync()).GetProperty("clients").GetInt32() == 1, "the client registered");

        var published = new List<Sent>();
        var seq = 0;
        async Task Publish(string type, string topic, bool large)
        {
            var sent = new Sent(type, topic, ++seq);
            var response = await service.PublishAsync(new { type, topic, data = new { seq = sent.Seq, padding = large ? Padding : "" } });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            published.Add(sent);
        }

        // Large cameras UPDATEs until the socket buffers are full and the queue conflates them.
        await Poll.UntilAsync(async () =>
        {
            await Publish("UPDATE", "cameras", large: true);
            return await ConflatedAsync(service, "cameras") > 0;
        }, "cameras UPDATEs are conflated for the client that does not read");

        // Now behind: ALERTs interleaved with UPDATEs of three topics.
        for (var i = 0; i < 30; i++)
        {
            await Publish("ALERT", "accidents", large: false);
            await Publish("UPDATE", "weather", large: false);
            await Publish("UPDATE", "cameras", large: true);
            await Publish("UPDATE", "accidents", large: false);
        }

        slow.Resume();
        var last = published.GroupBy(p => p.Topic + p.Type).Select(g => g.Last()).ToList();
        var received = new List<Sent>();
        while (!last.All(received.Contains))
        {
            var message = await slow.NextAsync();
            var type = message.GetProperty("type").GetString()!;
            if (type is "UPDATE" or "ALERT")
                received.Add(new Sent(type, message.GetProperty("topic").GetString()!, message.GetProperty("data").GetProperty("seq").GetInt32()));
        }

        // Every ALERT, in order; the newest UPDATE of each topic; nothing reordered (a subsequence of what was published).
        Assert.Equal(published.Where(p => p.Type == "ALERT"), received.Where(r => r.Type == "ALERT"));
        foreach (var topic in new[] { "cameras", "weather", "accidents" })
            Assert.Equal(published.Last(p => p.Type == "UPDATE" && p.Topic == topic), received.Last(r => r.Type == "UPDATE" && r.Topic == topic));
        Assert.True(IsSubsequence(received, published), "frames arrived in another order than they were published");

        // What is missing was conflated, and counted as such (this is the only client).
        foreach (var topic in new[] { "cameras", "weather", "accidents" })
        {
            var missing = published.Count(p => p.Type == "UPDATE" && p.Topic == topic) - received.Count(r => r.Type == "UPDATE" && r.Topic == topic);
            await Poll.UntilAsync(async () => await ConflatedAsync(service, topic) == missing, $"{missing} {topic} UPDATEs counted as conflated");
        }
        Assert.True(await ConflatedAsync(service, "cameras") > 0);
        Assert.Equal(1, (await service.StatsAsync()).GetProperty("clients").GetInt32()); // never closed
    }

    [Fact]
    public async Task Only_alerts_that_overflow_the_queue_close_a_slow_client_with_1013_and_a_reason()
    {
        await using var service = await RunningService.StartAsync(new Dictionary<string, string?>
        {
            ["SIMULATOR_ENABLED"] = "false",
            ["OUTBOUND_QUEUE_BYTES"] = $"{1024 * 1024}",
        });
        using var slow = new PausedClient();
        await slow.ConnectAsync(service.WebSocketUri("/ws?topics=accidents"));
        await using var reader = await service.ConnectAsync("/ws?topics=weather"); // reads, on another topic
        await reader.ExpectGreetingAsync();
        await Poll.UntilAsync(async () => (await service.StatsAsync()).GetProperty("clients").GetInt32() == 2, "both clients registered");

        // 40 MB of UPDATEs, far more than the byte bound (1 MiB) and the sockets' buffers: conflated, never a close.
        for (var i = 0; i < 160; i++)
        {
            var response = await service.PublishAsync(new { type = "UPDATE", topic = "accidents", data = new { seq = i, padding = Padding } });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        await Poll.UntilAsync(async () => await ConflatedAsync(service, "accidents") > 0, "accidents UPDATEs are conflated");
        Assert.Equal(0, await DroppedAsync(service, "accidents"));
        Assert.Equal(2, (await service.StatsAsync()).GetProperty("clients").GetInt32());

        // ALERTs are kept: once they alone fill the byte bound, the client is closed with 1013.
        await Poll.UntilAsync(async () =>
        {
            await service.PublishAsync(new { type = "ALERT", topic = "accidents", data = new { padding = Padding } });
            return await DroppedAsync(service, "accidents") > 0;
        }, "an ALERT is refused by the full queue");

        slow.Resume(); // reads what was queued, then the close frame
        await Poll.UntilAsync(() => Task.FromResult(slow.CloseStatus is not null), "the server's close frame arrives", TimeSpan.FromSeconds(30));
        Assert.Equal((WebSocketCloseStatus)1013, slow.CloseStatus);
        Assert.Contains("ALERTs", slow.CloseDescription);

        // The reader on another topic was never held up.
        await service.PublishAsync(new { type = "UPDATE", topic = "weather", data = new { marker = "still-served" } });
        await reader.NextAsync(m => m.Type() == "UPDATE");
    }

    private static bool IsSubsequence(List<Sent> part, List<Sent> whole)
    {
        var at = 0;
        foreach (var item in part)
        {
            at = whole.IndexOf(item, at);
            if (at < 0) return false;
            at++;
        }
        return true;
    }

    private static Task<long> ConflatedAsync(RunningService service, string topic) => CounterAsync(service, "traffic_messages_conflated_total", topic);

    private static Task<long> DroppedAsync(RunningService service, string topic) => CounterAsync(service, "traffic_messages_dropped_total", topic);

    /// <summary>A counter's value at /metrics (the exporter may serve a scrape a moment old: callers poll).</summary>
    private static async Task<long> CounterAsync(RunningService service, string name, string topic)
    {
        var text = await service.Http.GetStringAsync("/metrics");
        var match = Regex.Match(text, $"(?m)^{name}\\{{[^}}]*topic=\"{topic}\"[^}}]*\\}} (\\d+)");
        Assert.True(match.Success, $"{name} for {topic} is exported");
        return long.Parse(match.Groups[1].Value);
    }

    /// <summary>
    /// A real WebSocket client that does not read until <see cref="Resume"/>; then one receive loop
    /// assembles messages (some span many chunks) and keeps them in order.
    /// </summary>
    private sealed class PausedClient : IDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly System.Threading.Channels.Channel<JsonElement> _inbox = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();

        public WebSocketCloseStatus? CloseStatus { get; private set; }
        public string? CloseDescription { get; private set; }

        public Task ConnectAsync(Uri uri)
        {
            _socket.Options.KeepAliveInterval = TimeSpan.Zero;
            return _socket.ConnectAsync(uri, CancellationToken.None);
        }

        public void Resume() => _ = ReceiveLoopAsync();

        public async Task<JsonElement> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await _inbox.Reader.ReadAsync(timeout.Token);
        }

        private async Task ReceiveLoopAsync()
        {
            var buffer = new byte[64 * 1024];
            using var message = new MemoryStream();
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        CloseDescription = _socket.CloseStatusDescription;
                        CloseStatus = _socket.CloseStatus;
                        return;
                    }
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage) continue;
                    _inbox.Writer.TryWrite(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                    message.SetLength(0);
                }
            }
            catch (Exception) { _inbox.Writer.TryComplete(); }
        }

        public void Dispose() => _socket.Dispose();
    }
}
