using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Xunit;

namespace Traffic.Tests.Support;

/// <summary>
/// A real WebSocket client as a user's program would be: one long-lived receive loop (cancelling a
/// pending receive would abort the socket), every message kept in order, waits bounded by time.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(20);

    private readonly Channel<JsonElement> _inbox = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    /// <summary>Every message taken so far, in order of arrival.</summary>
    public List<JsonElement> Seen { get; } = [];

    /// <summary>Completes when the connection ends, with the server's close status if it sent one.</summary>
    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    /// <param name="answerPings">
    /// False gives a frozen client: it never reads, so it never answers the server's pings (and
    /// sends no keep-alive of its own).
    /// </param>
    public static async Task<TestClient> ConnectAsync(Uri uri, bool answerPings = true)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // only the server's pings keep this client alive
        await socket.ConnectAsync(uri, CancellationToken.None);
        var client = new TestClient(socket);
        if (answerPings) _ = client.ReceiveLoopAsync();
        return client;
    }

    public Task SendAsync(string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] bytes) =>
        Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>The next message, whatever it is.</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        try
        {
            var message = await _inbox.Reader.ReadAsync(timeout.Token);
            Seen.Add(message);
            return message;
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"no message within {(wait ?? DefaultWait).TotalSeconds} s; seen so far: {Describe()}");
        }
        catch (ChannelClosedException)
        {
            throw new Xunit.Sdk.XunitException($"the connection closed ({Closed.Result}); seen so far: {Describe()}");
        }
    }

    /// <summary>Skips messages until one matches; the skipped ones stay in <see cref="Seen"/>.</summary>
    public async Task<JsonElement> NextAsync(Func<JsonElement, bool> match, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? DefaultWait);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new Xunit.Sdk.XunitException($"no matching message within {(wait ?? DefaultWait).TotalSeconds} s; seen: {Describe()}");
            var message = await NextAsync(left);
            if (match(message)) return message;
        }
    }

    public Task<JsonElement> NextOfTypeAsync(string type, TimeSpan? wait = null) => NextAsync(m => m.Type() == type, wait);

    /// <summary>Once the connection has ended: takes every message that arrived but was not read yet into <see cref="Seen"/>.</summary>
    public async Task DrainAsync()
    {
        await Closed.WaitAsync(DefaultWait);
        while (_inbox.Reader.TryRead(out var message)) Seen.Add(message);
    }

    /// <summary>The position of the last UPDATE or ALERT seen on <paramref name="stream"/> (a topic, or "all" for messages without one).</summary>
    public (string Epoch, long Offset)? LastPosition(string stream) =>
        Seen.LastOrDefault(m => m.IsOnStream(stream)) is { ValueKind: JsonValueKind.Object } last
            ? (last.GetProperty("epoch").GetString()!, last.GetProperty("offset").GetInt64())
            : null;

    /// <summary>Waits for the connection ACK and the SNAPSHOT, asserting that they come first and in that order.</summary>
    public async Task<(JsonElement Ack, JsonElement Snapshot)> ExpectGreetingAsync()
    {
        var ack = await NextAsync();
        Assert.Equal("connection", ack.Type());
        var snapshot = await NextAsync();
        Assert.Equal("SNAPSHOT", snapshot.Type());
        return (ack, snapshot);
    }

    private string Describe() => string.Join(" | ", Seen.TakeLast(8).Select(m =>
        m.TryGetProperty("topic", out var t) ? $"{m.Type()}:{t}" : m.Type()));

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await Socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                using (var document = JsonDocument.Parse(message.ToArray()))
                    _inbox.Writer.TryWrite(document.RootElement.Clone());
                message.SetLength(0);
            }
        }
        catch (WebSocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            _closed.TrySetResult(Socket.CloseStatus);
            _inbox.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "test done", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        Socket.Dispose();
    }
}
