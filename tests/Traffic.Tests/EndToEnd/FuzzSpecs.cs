using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Traffic.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Traffic.Tests.EndToEnd;

/// <summary>
/// Several raw-TCP clients at once send malformed, oversized, fragmented, binary, truncated and
/// random frames and handshakes while a well-behaved client receives a stream published through
/// the API: it must get every message exactly once and in order, and the service must be healthy
/// afterwards. Bounded in count (<see cref="Workers"/> x <see cref="CasesPerWorker"/> cases) and in
/// time (<see cref="FuzzBudget"/>); the seed is fixed and printed (FUZZ_SEED=N replays another).
/// </summary>
[Trait("Speed", "Slow")]
public sealed class FuzzSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int DefaultSeed = 20261129;
    private const int Workers = 6;
    private const int CasesPerWorker = 500;
    private const int MaxPublishes = 2_000;
    private static readonly TimeSpan FuzzBudget = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(3);

    private RunningService _service = null!;

    // No simulated feed: the only UPDATEs on the listener's topic are the stream's.
    public async Task InitializeAsync() =>
        _service = await RunningService.StartAsync(new Dictionary<string, string?> { ["SIMULATOR_ENABLED"] = "false" });

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Hostile_frames_and_handshakes_never_cost_a_well_behaved_client_a_message_and_leave_the_service_healthy()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : DefaultSeed;
        output.WriteLine($"fuzz seed {seed} (replay with FUZZ_SEED={seed})");
        await using var listener = await _service.ConnectAsync("/ws?topics=accidents");
        await listener.ExpectGreetingAsync();

        var tally = new Tally();
        var clock = Stopwatch.StartNew();
        var fuzzers = Enumerable.Range(0, Workers)
            .Select(w => Task.Run(() => FuzzAsync(new Random(seed * 31 + w), tally, clock)))
            .ToArray();
        var fuzzing = Task.WhenAll(fuzzers);
        var published = await PublishStreamAsync(until: fuzzing);
        await fuzzing;
        output.WriteLine($"{tally.Cases} cases ({tally.Frames} frames, {tally.Handshakes} handshakes, {tally.Bytes / 1024} KB) " +
                         $"in {clock.Elapsed.TotalSeconds:0.0} s; {published} messages published meanwhile");
        output.WriteLine(tally.Describe());

        // Everything published reached the well-behaved client once, in order (the end marker
        // comes after the last one, so a late duplicate would have shown up before it).
        await _service.PublishAsync(new { type = "UPDATE", topic = "accidents", data = new { fuzzEnd = true } });
        var received = new List<int>();
        await listener.NextAsync(m =>
        {
            if (m.Type() != "UPDATE" || m.GetProperty("data").ValueKind != JsonValueKind.Object) return false;
            var data = m.GetProperty("data");
            if (data.TryGetProperty("fuzzSeq", out var seq)) received.Add(seq.GetInt32());
            return data.TryGetProperty("fuzzEnd", out _);
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, published), received);

        // Healthy afterwards: /health answers, a new client is greeted, the listener still talks,
        // and no fuzz connection is left behind.
        using (var health = await _service.Http.GetAsync("/health"))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        await using var newcomer = await _service.ConnectAsync("/ws?topics=cameras");
        await newcomer.ExpectGreetingAsync();
        await listener.SendAsync("""{"action":"ping"}""");
        await listener.NextOfTypeAsync("PONG");
        await Poll.UntilAsync(async () => (await _service.StatsAsync()).GetProperty("clients").GetInt32() == 2,
            "only the listener and the newcomer connected", TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Publishes {"fuzzSeq":0,1,2..} to accidents, one after the other, until the fuzzers are done.
    /// A publish refused by a rate limit (429) was not published: it is sent again after the wait asked for.
    /// </summary>
    private async Task<int> PublishStreamAsync(Task until)
    {
        var n = 0;
        while (n < MaxPublishes && (!until.IsCompleted || n < 50))
        {
            using var response = await _service.PublishAsync(new { type = "UPDATE", topic = "accidents", data = new { fuzzSeq = n } });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(100));
                continue;
            }
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            n++;
            await Task.Delay(5);
        }
        return n;
    }

    // ------------------------------------------------------------------ the fuzzer

    private async Task FuzzAsync(Random random, Tally tally, Stopwatch clock)
    {
        for (var i = 0; i < CasesPerWorker && clock.Elapsed < FuzzBudget; i++)
        {
            var pick = random.Next(Cases.Length);
            var (name, run) = Cases[pick];
            string outcome;
            try
            {
                outcome = await run(this, random, tally);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
            {
                outcome = "client could not connect: " + e.Message; // a refused connection is a finding too
            }
            tally.Record(name, outcome);
        }
    }

    private delegate Task<string> FuzzCase(FuzzSpecs spec, Random random, Tally tally);

    private static readonly (string Name, FuzzCase Run)[] Cases =
    [
        ("garbage head", (s, r, t) => s.HandshakeAsync(t, Concat(RandomBytes(r, 1, 2000), "\r\n\r\n"u8.ToArray()))),
        ("mutated upgrade head", (s, r, t) => s.HandshakeAsync(t, MutatedHead(r, s.Upgrade("/ws?topics=weather")))),
        ("hostile upgrade head", (s, r, t) => s.HandshakeAsync(t, Encoding.UTF8.GetBytes(HostileHeads(s._service.BaseAddress)[r.Next(HostileHeads(s._service.BaseAddress).Length)]))),
        ("truncated head, dropped", (s, r, t) => s.SendAndDropAsync(t, s.Upgrade()[..r.Next(1, s.Upgrade().Length - 4)])),
        ("TLS hello on the plain port, dropped", (s, r, t) => s.SendAndDropAsync(t, Concat([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03], RandomBytes(r, 32, 300)))),
        ("random publish API request", (s, r, t) => s.HandshakeAsync(t, RandomApiRequest(r, s._service.BaseAddress))),
        ("random JSON messages", (s, r, t) => s.FramesAsync(t, Enumerable.Range(0, r.Next(1, 10)).Select(_ => Text(RandomJson(r, 0))).ToArray())),
        ("invalid UTF-8 text", (s, r, t) => s.FramesAsync(t, [Text(InvalidUtf8(r))])),
        ("binary frame", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Binary, RandomBytes(r, 0, 3000))])),
        ("oversized message", (s, r, t) => s.FramesAsync(t, Fragments(r, Encoding.UTF8.GetBytes($$"""{"action":"ping","pad":"{{new string('x', r.Next(17_000, 40_000))}}"}"""), r.Next(1, 9)))),
        ("valid message in many fragments with pings between", (s, r, t) => s.FramesAsync(t, Fragments(r, """{"action":"subscribe","topics":["weather","cameras"]}"""u8.ToArray(), r.Next(2, 30), pingsBetween: true))),
        ("continuation without a start", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Continuation, RandomBytes(r, 0, 100))])),
        ("new message inside a fragmented one", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Text, "{\"act"u8, fin: false), Text("""{"action":"ping"}"""u8.ToArray())])),
        ("reserved opcode", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(new[] { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 }[r.Next(10)], RandomBytes(r, 0, 100))])),
        ("reserved bits set", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Text, """{"action":"ping"}"""u8, rsv: r.Next(1, 8))])),
        ("unmasked frame", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Text, """{"action":"ping"}"""u8, masked: false)])),
        ("control frame too long", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(r.Next(2) == 0 ? RawFrame.Ping : RawFrame.Pong, RandomBytes(r, 126, 400))])),
        ("fragmented control frame", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Ping, RandomBytes(r, 0, 50), fin: false)])),
        ("close with a bad code or reason", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Close, BadClosePayload(r))])),
        ("random bytes after the upgrade", (s, r, t) => s.FramesAsync(t, [RandomBytes(r, 1, 2000)])),
        ("ping with a payload", (s, r, t) => s.FramesAsync(t, [RawWebSocket.Frame(RawFrame.Ping, RandomBytes(r, 0, 125))])),
        ("truncated frame, dropped", (s, r, t) => s.FramesAsync(t, [TruncatedFrame(r)], drop: true)),
        ("huge declared length, dropped", (s, r, t) => s.FramesAsync(t, [Concat(RawWebSocket.Frame(RawFrame.Text, [], declaredLength: (ulong)r.NextInt64(1L << 20, long.MaxValue)), RandomBytes(r, 0, 500))], drop: true)),
    ];

    private byte[] Upgrade(string pathAndQuery = "/ws?topics=weather") =>
        Encoding.ASCII.GetBytes(RawWebSocket.UpgradeRequest(_service.BaseAddress, pathAndQuery));

    /// <summary>Sends a request head (or anything) and records the status the server answers with.</summary>
    private async Task<string> HandshakeAsync(Tally tally, byte[] request)
    {
        await using var raw = await RawWebSocket.ConnectAsync(_service.BaseAddress);
        tally.Sent(request.Length, handshakes: 1);
        if (!await raw.SendAsync(request)) return "closed while sending";
        var status = RawWebSocket.StatusOf(await raw.ReadHeadAsync(AnswerWait));
        return status is { } code ? $"HTTP {code}" : "no answer";
    }

    private async Task<string> SendAndDropAsync(Tally tally, byte[] bytes)
    {
        var raw = await RawWebSocket.ConnectAsync(_service.BaseAddress);
        tally.Sent(bytes.Length, handshakes: 1);
        await raw.SendAsync(bytes);
        raw.Abort();
        return "dropped";
    }

    /// <summary>
    /// Upgrades properly, sends the frames, then (unless <paramref name="drop"/>) asks for a PONG:
    /// the outcome is "served" when the connection still answers, else how the server ended it.
    /// </summary>
    private async Task<string> FramesAsync(Tally tally, byte[][] frames, bool drop = false)
    {
        var raw = await RawWebSocket.ConnectAsync(_service.BaseAddress);
        try
        {
            var upgrade = Upgrade();
            tally.Sent(upgrade.Length, handshakes: 1);
            await raw.SendAsync(upgrade);
            var status = RawWebSocket.StatusOf(await raw.ReadHeadAsync(AnswerWait));
            if (status != 101) return $"upgrade refused: {status?.ToString() ?? "no answer"}";
            foreach (var frame in frames)
            {
                tally.Sent(frame.Length, frames: 1);
                if (!await raw.SendAsync(frame)) break;
            }
            if (drop)
            {
                raw.Abort();
                return "dropped";
            }
            await raw.SendAsync(Text("""{"action":"ping"}"""u8.ToArray()));
            var last = await raw.ReadUntilAsync(f => f.Opcode == RawFrame.Text && f.PayloadText.Contains("\"PONG\""), AnswerWait);
            return last switch
            {
                null => "ended without a close frame (or no answer)",
                { Opcode: RawFrame.Close } close => $"closed {close.CloseCode?.ToString() ?? "(no code)"}",
                _ => "served",
            };
        }
        finally
        {
            await raw.DisposeAsync();
        }
    }

    // ------------------------------------------------------------------ generators

    private static byte[] Text(byte[] utf8) => RawWebSocket.Frame(RawFrame.Text, utf8);
    private static byte[] Text(string s) => Text(Encoding.UTF8.GetBytes(s));

    private static byte[] RandomBytes(Random r, int min, int max)
    {
        var bytes = new byte[r.Next(min, max + 1)];
        r.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>A message split into <paramref name="count"/> frames (text, then continuations), optionally with PINGs between them.</summary>
    private static byte[][] Fragments(Random r, byte[] message, int count, bool pingsBetween = false)
    {
        var frames = new List<byte[]>();
        var cuts = Enumerable.Range(0, count - 1).Select(_ => r.Next(0, message.Length + 1)).Order().Append(message.Length).ToArray();
        var from = 0;
        for (var i = 0; i < cuts.Length; i++)
        {
            frames.Add(RawWebSocket.Frame(i == 0 ? RawFrame.Text : RawFrame.Continuation, message.AsSpan(from, cuts[i] - from), fin: i == cuts.Length - 1));
            if (pingsBetween && i < cuts.Length - 1) frames.Add(RawWebSocket.Frame(RawFrame.Ping, "between"u8));
            from = cuts[i];
        }
        return frames.ToArray();
    }

    private static readonly string[] Words =
    [
        "subscribe", "unsubscribe", "ping", "all", "cameras", "weather", "accidents", "parking", "", " ", "PING",
        @"\ud800", @"\udc00", @"\u0000", "🚦", "é", @"\""", "null", new string('a', 300),
    ];

    /// <summary>Random JSON-ish text: mostly valid JSON in the protocol's shapes, sometimes broken or with trailing data.</summary>
    private static string RandomJson(Random r, int depth)
    {
        string Value(int d) => r.Next(9) switch
        {
            0 or 1 => $"\"{Words[r.Next(Words.Length)]}\"",
            2 => r.Next(-1000, 1000).ToString(),
            3 => r.Next(2) == 0 ? "true" : "null",
            4 => "1e999",
            5 when d < 4 => "[" + string.Join(',', Enumerable.Range(0, r.Next(0, 5)).Select(_ => Value(d + 1))) + "]",
            6 when d < 4 => RandomJson(r, d + 1),
            _ => $"\"{Words[r.Next(Words.Length)]}\"",
        };
        var keys = new[] { "action", "topics", "type", "topic", "data", "action", Words[r.Next(Words.Length)] };
        var json = "{" + string.Join(',', Enumerable.Range(0, r.Next(0, 4)).Select(_ => $"\"{keys[r.Next(keys.Length)]}\":{Value(depth)}")) + "}";
        if (depth > 0) return json;
        return r.Next(12) switch
        {
            0 => json + "garbage",
            1 => json + json,
            2 => json[..r.Next(json.Length)],
            3 => new string('[', r.Next(60, 2000)),
            4 => """{"action":"subscribe","topics":["\udc00"]}""",
            5 => """{"action":"\ud800"}""",
            _ => json,
        };
    }

    private static byte[] InvalidUtf8(Random r)
    {
        byte[][] bad = [[0xC3, 0x28], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]];
        var prefix = "{\"action\":\"ping\",\"x\":\""u8.ToArray();
        return Concat(prefix, bad[r.Next(bad.Length)], "\"}"u8.ToArray());
    }

    private static byte[] BadClosePayload(Random r)
    {
        var codes = new[] { 0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535, 1000, 1001 };
        return r.Next(4) switch
        {
            0 => [0x03], // one byte: not a code
            1 => Concat([0x03, 0xE8], [0xC3, 0x28]), // 1000 with an invalid UTF-8 reason
            _ => [(byte)(codes[r.Next(codes.Length)] >> 8), (byte)codes[r.Next(codes.Length)]],
        };
    }

    private static byte[] TruncatedFrame(Random r)
    {
        var whole = Text(Encoding.UTF8.GetBytes($$"""{"action":"ping","pad":"{{new string('y', r.Next(10, 3000))}}"}"""));
        return whole[..r.Next(1, whole.Length)];
    }

    /// <summary>A valid upgrade head with a few random edits (a byte dropped, inserted or changed, a line doubled).</summary>
    private static byte[] MutatedHead(Random r, byte[] valid)
    {
        var head = valid[..^4].ToList();
        for (var k = r.Next(1, 4); k > 0; k--)
        {
            var at = r.Next(head.Count);
            switch (r.Next(4))
            {
                case 0: head.RemoveAt(at); break;
                case 1: head.Insert(at, (byte)r.Next(256)); break;
                case 2: head[at] = (byte)r.Next(256); break;
                default:
                    var text = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n").ToList();
                    var line = r.Next(text.Count);
                    text.Insert(line, text[line]);
                    head = Encoding.ASCII.GetBytes(string.Join("\r\n", text)).ToList();
                    break;
            }
        }
        return Concat(head.ToArray(), "\r\n\r\n"u8.ToArray());
    }

    private static string[] HostileHeads(Uri b)
    {
        const string key = RawWebSocket.SampleKey;
        var upgrade = $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
        return
        [
            $"GET /ws HTTP/1.0\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost : {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nContent-Length: 5\r\n\r\nhello",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nno colon here\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: abc\r\n\r\n",
            $"GET /ws?topics=parking HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws?topics= HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"POST /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nX-Big: {new string('b', 40_000)}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n{string.Concat(Enumerable.Range(0, 2000).Select(i => $"X-H{i}: v\r\n"))}\r\n",
            $"GET /ws?{new string('q', 50_000)} HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nX-Nul: a\0b\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nX-Folded: a\r\n b\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: traffic.v1, chat\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nhost: {b.Authority}\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: {key}\r\n\r\n",
            $"GET /ws HTTP/1.1\r\nHost: {b.Authority}\r\n{upgrade}Sec-WebSocket-Key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ];
    }

    /// <summary>A request to the HTTP API: random method, path, key, content type and body (JSON-ish or not).</summary>
    private static byte[] RandomApiRequest(Random r, Uri b)
    {
        var paths = new[] { "/api/publish", "/api/publish", "/api/stats", "/api/stats?scope=cluster", "/health", "/metrics", "/nope", "/api/publish?x=%ZZ" };
        var keys = new[] { $"X-Api-Key: {RunningService.ApiKey}\r\n", $"Authorization: Bearer {RunningService.ApiKey}\r\n", "X-Api-Key: wrong\r\n", "" };
        var types = new[] { "application/json", "text/plain", "application/xml", "application/json; charset=utf-16", "" };
        var topics = new[] { "weather", "cameras", "parking", @"\ud800", "" };
        var body = r.Next(3) switch
        {
            0 => $$"""{"type":"{{(r.Next(2) == 0 ? "UPDATE" : Words[r.Next(Words.Length)])}}","topic":"{{topics[r.Next(topics.Length)]}}","data":{{RandomJson(r, 1)}}}""",
            1 => RandomJson(r, 0),
            _ => Encoding.Latin1.GetString(RandomBytes(r, 0, 200)),
        };
        var bytes = Encoding.UTF8.GetBytes(body);
        var method = r.Next(5) == 0 ? "GET" : "POST";
        var contentType = types[r.Next(types.Length)];
        var head = $"{method} {paths[r.Next(paths.Length)]} HTTP/1.1\r\nHost: {b.Authority}\r\n{keys[r.Next(keys.Length)]}" +
                   (contentType.Length > 0 ? $"Content-Type: {contentType}\r\n" : "") +
                   $"Content-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
        return Concat(Encoding.ASCII.GetBytes(head), bytes);
    }

    /// <summary>Counts of cases by outcome, and of what was sent.</summary>
    private sealed class Tally
    {
        private readonly ConcurrentDictionary<(string Case, string Outcome), int> _outcomes = new();
        private long _cases, _frames, _handshakes, _bytes;

        public long Cases => Interlocked.Read(ref _cases);
        public long Frames => Interlocked.Read(ref _frames);
        public long Handshakes => Interlocked.Read(ref _handshakes);
        public long Bytes => Interlocked.Read(ref _bytes);

        public void Sent(int bytes, int frames = 0, int handshakes = 0)
        {
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Add(ref _frames, frames);
            Interlocked.Add(ref _handshakes, handshakes);
        }

        public void Record(string @case, string outcome)
        {
            Interlocked.Increment(ref _cases);
            _outcomes.AddOrUpdate((@case, outcome), 1, (_, n) => n + 1);
        }

        public string Describe() => "outcomes by case:\n" + string.Join('\n', _outcomes
            .OrderBy(o => o.Key.Case, StringComparer.Ordinal).ThenBy(o => o.Key.Outcome, StringComparer.Ordinal)
            .Select(o => $"  {o.Key.Case}: {o.Key.Outcome} x{o.Value}"));
    }
}
