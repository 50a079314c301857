using System.Buffers;
using System.Net.WebSockets;
using Akka.Actor;
using Traffic.Actors.Connections;
using Traffic.Actors.Metrics;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Adapts one accepted WebSocket to <see cref="IClientSocket"/>: an <see cref="OutboundWriter"/>
/// for what the server sends, and a receive loop that turns client messages into
/// <see cref="SocketEvents"/> for the connection actor.
/// </summary>
public sealed class WebSocketClientSocket : IClientSocket
{
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);
    private const long ActivityNoticeEveryMs = 1000;
    private const int ReceiveChunkBytes = 4096;

    private readonly WebSocket _socket;
    private readonly SocketStream? _stream;
    private readonly int _maxMessageBytes;
    private readonly InboundByteBudget _inboundBudget;
    private readonly TrafficMetrics? _metrics;
    private readonly OutboundWriter _outbound;
    private readonly CancellationToken _transportClosed; // the peer closed the TCP connection
    private Exception? _fault; // an unexpected exception that ended the socket (a bug), for the connection's log
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IActorRef _connection = ActorRefs.Nobody;
    private int _closeRequested;
    private long _lastActivityNotice;
    private ArrayBufferWriter<byte>? _assembly; // a client message arriving in several chunks
    private long _messageLength; // inflated bytes of the message being read: a long, it is counted before it is refused

    public WebSocketClientSocket(WebSocket socket, SocketStream? stream, int outboundQueueLimit, int maxMessageBytes,
        long inboundBytesPerSecond = long.MaxValue, long outboundQueueBytes = long.MaxValue, string remoteAddress = "unknown", CancellationToken transportClosed = default,
        TrafficMetrics? metrics = null, FrameCompressor? compression = null)
    {
        _transportClosed = transportClosed;
        _socket = socket;
        _stream = stream;
        _maxMessageBytes = maxMessageBytes;
        _inboundBudget = new InboundByteBudget(inboundBytesPerSecond, maxMessageBytes);
        _metrics = metrics;
        RemoteAddress = remoteAddress;
        _outbound = new OutboundWriter(socket, stream, outboundQueueLimit, outboundQueueBytes, onFault: e => Interlocked.CompareExchange(ref _fault, e, null),
            onConflated: metrics is null ? null : frame => metrics.CountConflated(frame.ConflationTopic!.Value),
            compression: stream is DuplexPipeStream ? compression : null);
    }

    public string RemoteAddress { get; }

    /// <summary>Completes when the socket is finished with, whichever side ended it.</summary>
    public Task Completion => _completion.Task;

    public void Start(IActorRef connection)
    {
        _connection = connection;
        if (_stream is not null) _stream.BytesRead = NoticeActivity;
        _ = RunAsync();
    }

    public bool TrySend(ServerFrame frame) => _outbound.TrySend(frame);

    public Offered Offer(ServerFrame frame) => _outbound.Offer(frame);

    public void Wake() => _outbound.Wake();

    public void UseDeltas() => _outbound.UseDeltas();

    /// <summary>On the direct path the drain writes the PING; on the standard path the runtime pings by itself (<see cref="WebSocketSession.KeepAlive"/>).</summary>
    public void Ping() => _outbound.Ping();

    public void Close(int status, string reason)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) == 1) return;
        _outbound.Complete((WebSocketCloseStatus)status, reason); // what is queued goes first, then the close frame
        _ = AbortUnlessFinishedAsync(CloseHandshakeTimeout);
    }

    public void Abort()
    {
        Interlocked.Exchange(ref _closeRequested, 1);
        _outbound.Abandon();
        _socket.Abort(); // a pending receive ends with an error, and the receive loop reports the end
    }

    /// <summary>Ends the socket when the HTTP request is torn down before the actor ever started it.</summary>
    public void AbandonIfNotStarted()
    {
        if (_connection.IsNobody()) { Abort(); _completion.TrySetResult(); }
    }

    private async Task RunAsync()
    {
        try
        {
            await ReceiveLoopAsync().ConfigureAwait(false);
            await _outbound.Finished.ConfigureAwait(false);
        }
        finally
        {
            _socket.Dispose();
            _completion.TrySetResult();
        }
    }

    /// <summary>A peer that does not drain its backlog and answer our close in time is dropped.</summary>
    private async Task AbortUnlessFinishedAsync(TimeSpan grace)
    {
        if (await Task.WhenAny(_completion.Task, Task.Delay(grace)).ConfigureAwait(false) != _completion.Task) Abort();
    }

    private async Task ReceiveLoopAsync()
    {
        var reason = "connection lost";
        try
        {
            while (true)
            {
                // Wait with a zero-byte read: an idle connection then holds no receive buffer
                // (clients mostly listen; thousands of idle sockets would otherwise pin 4 KB each).
                var peek = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                if (peek.MessageType == WebSocketMessageType.Close) { reason = ClosedByClient(); break; }
                if (peek.EndOfMessage) { Received(peek, ReadOnlySpan<byte>.Empty); continue; } // an empty final frame: nothing to read

                var buffer = ArrayPool<byte>.Shared.Rent(ReceiveChunkBytes);
                ValueWebSocketReceiveResult result;
                try
                {
                    // At most one chunk is read (and, with permessage-deflate, inflated) before it is counted.
                    result = await _socket.ReceiveAsync(buffer.AsMemory(0, ReceiveChunkBytes), CancellationToken.None).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) { reason = ClosedByClient(); break; }
                    if (!Received(result, buffer.AsSpan(0, result.Count)))
                    {
                        reason = TooLarge();
                        await LingerUntilPeerClosesAsync().ConfigureAwait(false);
                        break;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                var pause = _inboundBudget.Take(result.Count, Environment.TickCount64);
                if (pause > TimeSpan.Zero)
                {
                    _metrics?.CountInboundPause();
                    await Task.Delay(pause).ConfigureAwait(false);
                }
            }
        }
        catch (WebSocketException e) when (_socket.State == WebSocketState.Aborted && Volatile.Read(ref _closeRequested) == 0)
        {
            // The runtime ended the WebSocket itself: a protocol violation (RFC 6455: bad frame,
            // invalid UTF-8), after sending its close frame (1002, 1007), or a broken transport.
            // Aborting it as well would lose that close frame: on the standard path, ASP.NET Core's
            // WebSocket aborts the HTTP connection, a TCP reset that makes the peer drop what it has
            // not read yet. So, as RFC 6455 section 7.1.1 asks, wait (bounded) for the peer to close
            // its side first.
            reason = e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely
                ? "connection lost (closed without a close handshake)"
                : $"protocol error from the client ({e.InnerException?.Message ?? e.Message})";
            Interlocked.Exchange(ref _closeRequested, 1);
            _outbound.Abandon();
            await LingerUntilPeerClosesAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            reason = $"connection lost ({e.GetType().Name})";
            Abort();
        }
        catch (Exception e)
        {
            // A bug, not a peer going away: it reaches the actor as the fault, which logs it once, at Error.
            Interlocked.CompareExchange(ref _fault, e, null);
            Abort();
        }
        finally
        {
            var fault = Volatile.Read(ref _fault);
            _connection.Tell(fault is null ? new SocketEvents.Closed(reason) : new SocketEvents.Closed($"socket failed ({fault.GetType().Name})", fault));
        }
    }

    /// <summary>Waits until the peer has closed the connection, or the close handshake's time is up.</summary>
    private async Task LingerUntilPeerClosesAsync()
    {
        try { await Task.Delay(CloseHandshakeTimeout, _transportClosed).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// One chunk of a client message: assembled until its end, then told to the actor. False when the
    /// message has grown past the limit: nothing more of it is read (or inflated), the socket is closing.
    /// </summary>
    private bool Received(ValueWebSocketReceiveResult result, ReadOnlySpan<byte> chunk)
    {
        _messageLength += chunk.Length;
        if (_messageLength > _maxMessageBytes)
        {
            _assembly = null; // what was assembled goes with it
            return false;
        }

        if (!result.EndOfMessage)
        {
            (_assembly ??= new ArrayBufferWriter<byte>()).Write(chunk);
            return true;
        }

        _messageLength = 0;
        byte[] message;
        if (_assembly is { WrittenCount: > 0 })
        {
            _assembly.Write(chunk);
            message = _assembly.WrittenSpan.ToArray();
            // Messages of several chunks are rare (commands are small): give the buffer back rather than
            // keep its largest size for the connection's life.
            _assembly = null;
        }
        else message = chunk.ToArray();

        _connection.Tell(result.MessageType == WebSocketMessageType.Text
            ? new SocketEvents.TextReceived(message)
            : new SocketEvents.BinaryReceived(message.Length));
        return true;
    }

    /// <summary>
    /// A message passed MAX_CLIENT_MESSAGE_BYTES: closed with 1009 (RFC 6455 7.4.1) at once, not read
    /// to its end, since with permessage-deflate a few bytes on the wire can inflate to gigabytes.
    /// </summary>
    private string TooLarge()
    {
        _metrics?.CountMessageTooLarge();
        var limit = $"message longer than {_maxMessageBytes} bytes";
        Close(CloseCodes.MessageTooBig, limit);
        return $"closed by the server with {CloseCodes.MessageTooBig} ({limit})";
    }

    private string ClosedByClient()
    {
        Close(_socket.CloseStatus is { } status ? (int)status : CloseCodes.Normal, "closed by client");
        return $"client closed ({(int?)_socket.CloseStatus} {ClientText.Safe(_socket.CloseStatusDescription)})";
    }

    private void NoticeActivity()
    {
        var now = Environment.TickCount64;
        if (now - _lastActivityNotice < ActivityNoticeEveryMs) return;
        _lastActivityNotice = now;
        _connection.Tell(SocketEvents.PeerActive.Instance);
    }
}
