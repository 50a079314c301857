using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Http;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Bench.LoadGen;

/// <summary>One client connection: a ClientWebSocket, its own receive buffer and its counters.</summary>
public sealed class Conn
{
    public readonly int Index;
    public readonly int TopicMask;
    public ClientWebSocket? Ws;
    public readonly byte[] Buffer;
    public long Frames, Bytes, Updates, Snapshots, Unparsed, Oversize;
    public long ConnectStarted, ConnectedAt, ConnectionFrameAt;
    public volatile bool Open;
    public volatile bool Failed;
    /// <summary>Set when the receive loop has ended: no frame of this connection is handled any more.</summary>
    public volatile bool ReceiveDone;
    /// <summary>Set: the client stops reading (a frozen tab) until it completes; what it held is not counted.</summary>
    public volatile TaskCompletionSource? Paused;
    public string? Error;
    /// <summary>When set, the URL to connect to (e.g. with ?since=...), instead of one made from the topics.</summary>
    public Uri? Url;
    /// <summary>Scenario state of this connection (reconnect-storm: what it received).</summary>
    public object? Tag;

    public Conn(int index, int topicMask, int bufferSize)
    {
        Index = index;
        TopicMask = topicMask;
        Buffer = new byte[bufferSize];
    }
}

/// <summary>
/// Many real WebSocket clients in one process. One receive loop per socket (a single long-lived
/// async method, so no per-message allocation), each reading into its own fixed buffer; frames are
/// not JSON-parsed: the loop finds "seq" and "sentAt" with a UTF-8 span search.
/// </summary>
public sealed class ClientPool : IAsyncDisposable
{
    private static ReadOnlySpan<byte> SeqKey => "\"seq\""u8;
    private static ReadOnlySpan<byte> SentAtKey => "\"sentAt\""u8;
    private static ReadOnlySpan<byte> SnapshotWord => "SNAPSHOT"u8;
    private static ReadOnlySpan<byte> ConnectionWord => "\"connection\""u8;

    private readonly Uri _baseWs;
    private readonly Tracker _tracker;
    private readonly HttpMessageInvoker _invoker;
    private readonly int _bufferSize;
    public readonly List<Conn> Conns = new();
    public long ConnectFailures;
    public string? FirstError;
    public readonly Histogram ConnectLatency = new(); // guarded by lock(ConnectLatency)

    /// <summary>A scenario's own frame handler, called on the connection's receive loop instead of the seq/sentAt scan.</summary>
    public delegate void FrameHandler(Conn conn, ReadOnlySpan<byte> frame, long now);
    public FrameHandler? OnFrameOverride;

    /// <summary>Set to 0 (--stream-buffer 0) to give ClientWebSocket the plain NetworkStream.</summary>
    public static int StreamBufferSize = 4096;

    /// <summary>--bind: the local address every client socket binds to before connecting (127.0.0.2 and up), or null.</summary>
    public static System.Net.IPAddress? BindAddress;

    public ClientPool(Uri baseWs, Tracker tracker, int bufferSize = 2048, int? streamBufferSize = null)
    {
        _baseWs = baseWs;
        _tracker = tracker;
        _bufferSize = bufferSize;
        var streamBuffer = streamBufferSize ?? StreamBufferSize;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        handler.ConnectCallback = async (ctx, ct) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (BindAddress is { } local) socket.Bind(new System.Net.IPEndPoint(local, 0));
                await socket.ConnectAsync(ctx.DnsEndPoint, ct).ConfigureAwait(false);
                return streamBuffer > 0 ? new ReadBufferedStream(socket, streamBuffer) : new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        _invoker = new HttpMessageInvoker(handler);
    }

    public int OpenCount => Conns.Count(c => c.Open);

    public static Uri UriFor(Uri baseWs, int topicMask)
    {
        if (topicMask == (1 << Topics.All.Length) - 1) return baseWs;
        var names = string.Join(',', Enumerable.Range(0, Topics.All.Length).Where(t => (topicMask & (1 << t)) != 0).Select(t => Topics.All[t]));
        return new Uri(baseWs + (baseWs.Query.Length > 0 ? "&" : "?") + "topics=" + names);
    }

    /// <summary>Connects <paramref name="count"/> clients with at most <paramref name="concurrency"/> handshakes in flight.</summary>
    public async Task ConnectManyAsync(int count, Func<int, int> topicMaskFor, int concurrency, TimeSpan deadline)
    {
        using var gate = new SemaphoreSlim(concurrency);
        var until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        var tasks = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            if (Stopwatch.GetTimestamp() > until) break;
            await gate.WaitAsync();
            var conn = new Conn(Conns.Count, topicMaskFor(i), _bufferSize);
            Conns.Add(conn);
            tasks.Add(ConnectOneAsync(conn, Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(15)).ContinueWith(_ => gate.Release(), TaskScheduler.Default));
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>
    /// Opens one connection, starts its receive loop, and completes when the server's first frame
    /// (the "connection" ACK) has arrived, or on failure. Latency is measured from <paramref name="scheduledAt"/>.
    /// </summary>
    public async Task<bool> ConnectOneAsync(Conn conn, long scheduledAt, TimeSpan timeout)
    {
        conn.ConnectStarted = scheduledAt;
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = TimeSpan.Zero; // the server pings; the client answers while its receive is pending
        conn.Ws = ws;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await ws.ConnectAsync(conn.Url ?? UriFor(_baseWs, conn.TopicMask), _invoker, cts.Token);
            conn.ConnectedAt = Stopwatch.GetTimestamp();
            conn.Open = true;
            var firstFrame = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = ReceiveLoopAsync(conn, firstFrame);
            var left = timeout - Stopwatch.GetElapsedTime(scheduledAt);
            await firstFrame.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            var micros = (conn.ConnectionFrameAt - scheduledAt) * 1_000_000 / Stopwatch.Frequency;
            lock (ConnectLatency) ConnectLatency.Record(micros);
            return true;
        }
        catch (Exception e)
        {
            conn.Failed = true;
            conn.Open = false;
            conn.Error = e.GetBaseException().Message;
            Interlocked.Increment(ref ConnectFailures);
            Interlocked.CompareExchange(ref FirstError, $"{e.GetType().Name}: {conn.Error}", null);
            ws.Abort();
            ws.Dispose();
            return false;
        }
    }

    private async Task ReceiveLoopAsync(Conn c, TaskCompletionSource firstFrame)
    {
        var ws = c.Ws!;
        var buf = c.Buffer;
        var filled = 0;
        var skipping = false;
        try
        {
            while (true)
            {
                if (c.Paused is { } gate) await gate.Task;
                var r = await ws.ReceiveAsync(buf.AsMemory(filled), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) break;
                if (skipping)
                {
                    if (r.EndOfMessage) skipping = false;
                    continue;
                }
                filled += r.Count;
                if (!r.EndOfMessage)
                {
                    if (filled == buf.Length) { skipping = true; filled = 0; c.Oversize++; c.Frames++; FirstFrame(c, firstFrame); }
                    continue;
                }
                var now = Stopwatch.GetTimestamp();
                c.Frames++;
                c.Bytes += filled;
                OnFrame(c, buf.AsSpan(0, filled), now);
                if (c.Frames == 1) FirstFrame(c, firstFrame);
                filled = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            c.Error ??= e.GetBaseException().Message;
        }
        finally
        {
            c.Open = false;
            c.ReceiveDone = true;
            firstFrame.TrySetException(new WebSocketException("closed before the first frame"));
        }
    }

    private static void FirstFrame(Conn c, TaskCompletionSource tcs)
    {
        if (c.ConnectionFrameAt == 0) c.ConnectionFrameAt = Stopwatch.GetTimestamp();
        tcs.TrySetResult();
    }

    private void OnFrame(Conn c, ReadOnlySpan<byte> frame, long now)
    {
        if (c.Paused is not null) return; // the one receive pending when it stopped reading: not a measured delivery
        if (OnFrameOverride is { } handler)
        {
            handler(c, frame, now);
            return;
        }
        var seqAt = frame.IndexOf(SeqKey);
        if (seqAt < 0)
        {
            return; // connection ACK, SNAPSHOT without our data, PONG, ...
        }
        var head = frame[..Math.Min(frame.Length, 48)];
        if (head.IndexOf(SnapshotWord) >= 0 || head.IndexOf(ConnectionWord) >= 0)
        {
            c.Snapshots++; // a snapshot may carry an earlier publish's data: not a delivery
            return;
        }
        var rest = frame[(seqAt + SeqKey.Length)..];
        if (!TryNumberAfterColon(rest, out var seq, out var used)) { c.Unparsed++; return; }
        rest = rest[used..];
        var sentIdx = rest.IndexOf(SentAtKey);
        if (sentIdx < 0 || !TryNumberAfterColon(rest[(sentIdx + SentAtKey.Length)..], out var sentAt, out _)) { c.Unparsed++; return; }
        c.Updates++;
        _tracker.OnUpdate(c.Index, seq, sentAt, now);
    }

    private static bool TryNumberAfterColon(ReadOnlySpan<byte> s, out long value, out int consumed)
    {
        var i = 0;
        while (i < s.Length && (s[i] == ' ' || s[i] == ':' || s[i] == '\t')) i++;
        if (Utf8Parser.TryParse(s[i..], out value, out var n)) { consumed = i + n; return true; }
        consumed = 0;
        return false;
    }

    /// <summary>Closes every connection (abortive: FIN without a close handshake) and clears the pool.</summary>
    public void CloseAll()
    {
        foreach (var c in Conns)
        {
            c.Open = false;
            try { c.Ws?.Abort(); c.Ws?.Dispose(); } catch (Exception) { }
            c.Paused?.TrySetResult(); // its receive loop then sees the aborted socket and ends
        }
        Conns.Clear();
    }

    public ValueTask DisposeAsync()
    {
        CloseAll();
        _invoker.Dispose();
        return ValueTask.CompletedTask;
    }
}
