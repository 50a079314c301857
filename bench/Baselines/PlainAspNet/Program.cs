// Benchmark baseline: a plain ASP.NET Core WebSocket server with no framework, to the same contract
// as the service (bench/README.md). A dictionary of sockets, a bounded channel and one send loop per
// socket, the payload serialized once per publish. Env: WS_HOST, WS_PORT, PUBLISH_API_KEY.
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

string[] topics = ["cameras", "weather", "airQuality", "accidents", "patterns", "congestion"];
const int AllTopics = (1 << 6) - 1;
var host = Environment.GetEnvironmentVariable("WS_HOST") ?? "0.0.0.0";
var port = Environment.GetEnvironmentVariable("WS_PORT") ?? "5000";
var apiKey = Environment.GetEnvironmentVariable("PUBLISH_API_KEY") ?? "bench-publish-key";

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://{host}:{port}");
builder.Logging.ClearProviders();
var app = builder.Build();
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(10) });

var clients = new ConcurrentDictionary<long, Client>();
long nextId = 0, dropped = 0;

int Mask(IEnumerable<string> names) => names.Select(n => n == "all" ? AllTopics : Array.IndexOf(topics, n) is var i and >= 0 ? 1 << i : 0).Aggregate(0, (a, b) => a | b);
byte[] Frame(string type, string? topic, Action<Utf8JsonWriter> data)
{
    var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
    using (var w = new Utf8JsonWriter(buffer))
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        if (topic != null) w.WriteString("topic", topic);
        w.WritePropertyName("data");
        data(w);
        w.WriteString("timestamp", DateTime.UtcNow);
        w.WriteEndObject();
    }
    return buffer.WrittenSpan.ToArray();
}

async Task HandleSocket(HttpContext ctx)
{
    if (!ctx.WebSockets.IsWebSocketRequest) { ctx.Response.StatusCode = 400; return; }
    var q = ctx.Request.Query["topics"].ToString();
    using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
    var client = new Client(ws, q.Length == 0 ? AllTopics : Mask(q.Split(',', StringSplitOptions.TrimEntries)));
    var id = Interlocked.Increment(ref nextId);
    client.Queue.Writer.TryWrite(Encoding.UTF8.GetBytes(
        $$"""{"type":"connection","message":"Connected to HCMC Traffic Monitoring System","timestamp":"{{DateTime.UtcNow:O}}","heartbeatInterval":10000}"""));
    client.Queue.Writer.TryWrite(Frame("SNAPSHOT", null, w => { w.WriteStartObject(); foreach (var t in topics) { w.WriteStartArray(t); w.WriteEndArray(); } w.WriteEndObject(); }));
    clients[id] = client;
    var sender = SendLoop(client);
    var buf = new byte[4096]; // the receive buffer size of the ASP.NET Core WebSockets docs sample
    try
    {
        while (ws.State == WebSocketState.Open)
        {
            var r = await ws.ReceiveAsync(buf.AsMemory(), ctx.RequestAborted);
            if (r.MessageType == WebSocketMessageType.Close) break;
            if (!r.EndOfMessage || r.MessageType != WebSocketMessageType.Text) continue; // keep it minimal: small text commands only
            try
            {
                using var doc = JsonDocument.Parse(buf.AsMemory(0, r.Count));
                var action = doc.RootElement.TryGetProperty("action", out var a) ? a.GetString() : null;
                var names = doc.RootElement.TryGetProperty("topics", out var ts) && ts.ValueKind == JsonValueKind.Array ? ts.EnumerateArray().Select(e => e.GetString() ?? "") : [];
                if (action == "subscribe") client.Topics |= Mask(names);
                else if (action == "unsubscribe") client.Topics &= ~Mask(names);
                else if (action == "ping") client.Queue.Writer.TryWrite(Frame("PONG", null, w => w.WriteNullValue()));
            }
            catch (JsonException) { }
        }
    }
    catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
    finally
    {
        clients.TryRemove(id, out _);
        client.Queue.Writer.TryComplete();
        await sender;
        if (ws.State == WebSocketState.Open || ws.State == WebSocketState.CloseReceived)
            try { await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None); } catch (Exception) { }
    }
}

async Task SendLoop(Client c)
{
    try
    {
        await foreach (var frame in c.Queue.Reader.ReadAllAsync())
            await c.Socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, true, CancellationToken.None);
    }
    catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
}

app.Map("/ws", HandleSocket);
app.Map("/", HandleSocket);
app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
app.MapGet("/api/stats", () =>
{
    var snapshot = clients.Values.ToArray();
    var perTopic = new Dictionary<string, int>();
    for (var i = 0; i < topics.Length; i++) perTopic[topics[i]] = snapshot.Count(c => (c.Topics & (1 << i)) != 0);
    return Results.Json(new { clients = snapshot.Length, topics = perTopic, dropped = Interlocked.Read(ref dropped) });
});
app.MapPost("/api/publish", async (HttpContext ctx) =>
{
    if (ctx.Request.Headers["X-Api-Key"] != apiKey) return Results.Unauthorized();
    JsonElement body;
    try { body = await JsonSerializer.DeserializeAsync<JsonElement>(ctx.Request.Body); }
    catch (JsonException) { return Results.BadRequest(new { error = "invalid JSON" }); }
    var type = body.TryGetProperty("type", out var t) ? t.GetString() : null;
    var topic = body.TryGetProperty("topic", out var tp) ? tp.GetString() : null;
    var bit = topic == null ? -1 : Array.IndexOf(topics, topic);
    if (type is not ("UPDATE" or "ALERT") || bit < 0) return Results.BadRequest(new { error = "type must be UPDATE or ALERT and topic a known topic" });
    var frame = Frame(type, topic, w => { if (body.TryGetProperty("data", out var d)) d.WriteTo(w); else w.WriteNullValue(); });
    foreach (var c in clients.Values)
        if ((c.Topics & (1 << bit)) != 0 && !c.Queue.Writer.TryWrite(frame)) Interlocked.Increment(ref dropped);
    return Results.Accepted();
});

app.Run();

sealed class Client(WebSocket socket, int topics)
{
    public readonly WebSocket Socket = socket;
    public volatile int Topics = topics;
    public readonly Channel<byte[]> Queue = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
}
