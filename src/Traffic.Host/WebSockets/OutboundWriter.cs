using System.Net.WebSockets;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The outbound side of one socket: a bounded queue, drained by a thread-pool work item that
/// exists only while there is something to send (an idle socket has no send loop waiting).
/// <para>
/// <see cref="TrySend"/> only enqueues, so a publish to N sockets costs the publisher N enqueues
/// (and <see cref="Offer"/> leaves even the start of the drain to a publisher that has more to queue).
/// The drain sends everything queued in batches, so frames that piled up while the socket waited
/// its turn leave in one write: the busier the server, the fewer writes per frame. On the direct
/// path (<see cref="DuplexPipeStream"/>) the drain writes the frames itself, RFC 6455 server frames
/// straight into the connection's pipe, one flush per batch of up to <see cref="MaxBatchFrames"/>
/// frames, in turn with the runtime WebSocket's control frames; the runtime sends no data frame
/// there. On the standard path each frame goes through <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>,
/// with writes held while more follow (<see cref="ActivityTrackingStream.HoldWrites"/>).
/// </para>
/// <para>
/// A client falls behind when its queue reaches a bound (frames or bytes). Until then every frame
/// waits its turn, so a client that is only briefly slower (a busy server) loses nothing. From then
/// on its UPDATEs are conflated (<see cref="OutboundQueue"/>): a new UPDATE of a topic drops the
/// ones of that topic still waiting, and a new kept frame (ALERT, SNAPSHOT, ack, PONG, ERROR)
/// first drops every UPDATE a newer one of its topic supersedes; a kept frame is refused only when
/// the kept frames alone fill a bound. So over the bound at most one UPDATE per topic is added.
/// </para>
/// Never blocks the caller; a refused frame leaves the decision to the caller (close with 1013),
/// and a writer that is closing takes frames and drops them.
/// </summary>
/// <param name="queueLimit">At most this many frames wait before UPDATEs are conflated; at most this many kept (never conflated) frames wait.</param>
/// <param name="queueByteLimit">The same in bytes; a single larger frame is still taken into an empty queue.</param>
/// <param name="onFault">Told once of an exception that is not an ordinary connection failure (a bug); the writer then abandons and aborts the socket.</param>
/// <param name="onConflated">Told of each waiting UPDATE dropped for a newer one of its topic (for the metrics); called under the writer's lock, so it must be cheap.</param>
/// <param name="compression">
/// Set when the client negotiated permessage-deflate (and <paramref name="stream"/> is the socket's own): frames of at least
/// its threshold go out as the frame's shared compressed bytes (<see cref="ServerFrame.Deflated"/>), written by the drain
/// with RSV1 set (<see cref="DuplexPipeStream.WriteTextFrame"/>); the runtime itself never compresses.
/// </param>
public sealed class OutboundWriter(WebSocket socket, SocketStream? stream, int queueLimit, long queueByteLimit = long.MaxValue,
    Action<Exception>? onFault = null, Action<ServerFrame>? onConflated = null, FrameCompressor? compression = null) : IThreadPoolWorkItem
{
    /// <summary>
    /// At most this many frames, and (beyond the first) this many bytes, are written to the pipe as one
    /// batch (one flush): bounds how long the drain holds the pipe before a PONG or PING may pass.
    /// </summary>
    private const int MaxBatchFrames = 64;
    private const int MaxBatchBytes = 16 * 1024;

    private enum Next { Frame, Idle, Close, Stop }

    private readonly object _gate = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private OutboundQueue? _queue;
    private bool _draining;  // a drain is queued or running: one at a time
    private bool _completed; // accepts no more frames
    private bool _abandoned; // and sends nothing more, not even a close frame
    private bool _pingDue;   // a keep-alive PING waits to go out ahead of the next batch (the direct path only)
    private WebSocketCloseStatus _closeStatus;
    private volatile bool _deltas;
    private long[]? _lastUpdateSent; // per topic, the offset of the last UPDATE sent (deltas only); touched by the drain alone
    private string _closeReason = "";

    /// <summary>Completes once the close frame is sent, or the writer failed or was abandoned.</summary>
    public Task Finished => _finished.Task;

    public bool TrySend(ServerFrame frame)
    {
        var offered = Offer(frame);
        if (offered == Offered.QueuedWake) Wake();
        return offered != Offered.Refused;
    }

    /// <summary>
    /// Queues <paramref name="frame"/>; on <see cref="Offered.QueuedWake"/> the writer was idle and
    /// now counts on the caller to <see cref="Wake"/> it (until then it is "draining" and more frames
    /// only join the queue).
    /// </summary>
    public Offered Offer(ServerFrame frame)
    {
        lock (_gate)
        {
            if (_completed) return Offered.Queued; // closing: dropped, and not a sign of a slow client
            var queue = _queue ??= new OutboundQueue();
            var length = frame.Utf8Json.Length;
            if (!Fits(queue.Count, queue.Bytes, length))
            {
                // Behind: the queue is at its bound. UPDATEs that a newer one of their topic supersedes go first.
                if (frame.ConflationTopic is { } topic) queue.DropUpdatesOf(topic, onConflated);
                else
                {
                    queue.DropSupersededUpdates(onConflated);
                    if (!Fits(queue.KeptCount, queue.KeptBytes, length)) return Offered.Refused; // kept frames alone overflow
                }
            }
            queue.Enqueue(frame);
            if (_draining) return Offered.Queued;
            _draining = true;
            return Offered.QueuedWake;
        }
    }

    /// <summary>
    /// Sends a protocol PING (RFC 6455 5.5.2, empty payload) ahead of the next batch; on the direct path only
    /// (<see cref="DuplexPipeStream"/>), where the connection actor's heartbeat sends the keep-alive PINGs instead
    /// of a runtime timer per socket. A PING already waiting is not doubled; a closing writer sends none.
    /// </summary>
    public void Ping()
    {
        if (stream is not DuplexPipeStream) return; // the standard path: the runtime's own keep-alive pings
        lock (_gate)
        {
            if (_completed || _pingDue) return;
            _pingDue = true;
            if (_draining) return; // the running drain writes it with its next batch
            _draining = true;
        }
        Wake();
    }

    /// <summary>Starts the drain that an <see cref="Offer"/> answered with <see cref="Offered.QueuedWake"/>.</summary>
    public void Wake() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>The client asked for delta UPDATEs (see <see cref="Outgoing"/>).</summary>
    public void UseDeltas() => _deltas = true;

    /// <summary>Sends what is queued, then a close frame; later frames are refused.</summary>
    public void Complete(WebSocketCloseStatus status, string reason)
    {
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            _closeStatus = status;
            _closeReason = reason;
            if (_draining) return; // the running drain closes once the queue is empty
            _draining = true;
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>
    /// Drops what is queued and sends nothing more (the socket is being aborted). A send in flight
    /// is left to end first: <see cref="Finished"/> completes only when no drain is running, so the
    /// transport is never released under a writer that is still using it.
    /// </summary>
    public void Abandon()
    {
        bool idle;
        lock (_gate)
        {
            _completed = true;
            _abandoned = true;
            _queue = null;
            idle = !_draining;
        }
        if (idle) _finished.TrySetResult();
    }

    /// <summary>Whether a frame of <paramref name="length"/> bytes fits beside what waits; a lone frame always does.</summary>
    private bool Fits(int count, long bytes, int length) => count == 0 || (count < queueLimit && bytes + length <= queueByteLimit);

    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    // Runs detached (`_ = DrainAsync()`): it must never let an exception escape, or the writer
    // would stay "draining" forever, Finished would never complete and the connection never be released.
    // One async method for the whole drain (no nested awaited method): a drain that completes at once allocates nothing.
    private async Task DrainAsync()
    {
        Next next;
        try
        {
            if (stream is DuplexPipeStream pipe)
                while (true)
                {
                    // The direct path: each batch written into the pipe and flushed with the pipe's turn held.
                    await pipe.EnterAsync().ConfigureAwait(false);
                    try
                    {
                        next = WriteBatch(pipe);
                        if (next != Next.Frame) break;
                        await pipe.FlushFramesAsync().ConfigureAwait(false);
                    }
                    finally
                    {
                        pipe.Exit();
                    }
                }
            else
                while ((next = TakeNext(out var frame)) == Next.Frame)
                    await socket.SendAsync(Outgoing(frame).Payload, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            if (next == Next.Close) await CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_gate) _draining = false;
            Abandon();
            try { socket.Abort(); } // the receive loop sees it and reports the end to the connection actor
            catch (Exception) { /* already torn down */ }
            if (!IsConnectionFailure(e)) Fault(e);
            return;
        }
        if (next == Next.Stop) _finished.TrySetResult();
    }

    /// <summary>
    /// The direct path, with the pipe's turn held: a PING if one is due, then up to <see cref="MaxBatchFrames"/>
    /// waiting frames (at least one, then no more than <see cref="MaxBatchBytes"/>) written into the pipe,
    /// unflushed; or the end of this drain. Each frame is taken under the lock and written outside it, so a
    /// publisher offering to this socket never waits on a copy or on the first deflate of a frame.
    /// </summary>
    private Next WriteBatch(DuplexPipeStream pipe)
    {
        var count = 0;
        var ping = false;
        long bytes = 0;
        while (true)
        {
            ServerFrame frame;
            lock (_gate)
            {
                if (count == 0 && _pingDue && !_completed)
                {
                    ping = true;
                    _pingDue = false;
                }
                if (count == MaxBatchFrames || _queue is not { } queue || !queue.TryPeekLength(out var length)
                    || (count > 0 && bytes + length > MaxBatchBytes))
                {
                    if (count > 0) return Next.Frame;
                    if (!ping) return QueueEmptied();
                    frame = null!; // only the PING goes in this batch
                }
                else
                {
                    queue.TryDequeue(out frame);
                    bytes += length;
                }
            }
            // What the runtime checks before a send: nothing after a close frame went out, or once aborted.
            if (count == 0 && socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
                throw new WebSocketException(WebSocketError.InvalidState, $"the WebSocket is {socket.State}");
            if (ping)
            {
                pipe.WritePingFrame();
                ping = false;
                if (frame is null) return Next.Frame; // flushed; the next batch finds the queue empty and ends the drain
            }
            count++;
            var (payload, deflated) = Outgoing(frame);
            pipe.WriteTextFrame(payload, deflated);
        }
    }

    /// <summary>The bytes this socket sends for <paramref name="frame"/>: its delta or itself, deflated when the client takes that and it is worth it.</summary>
    private (byte[] Payload, bool Deflated) Outgoing(ServerFrame frame)
    {
        var delta = UsesDelta(frame);
        var payload = delta ? frame.Delta!.Utf8Json : frame.Utf8Json;
        return compression is not null && compression.ShouldCompress(payload.Length)
            ? (frame.Deflated(delta, compression.Deflate), true)
            : (payload, false);
    }

    /// <summary>
    /// Whether to send the frame's delta rather than its own bytes: only for a client that asked for
    /// deltas, and an UPDATE whose delta's base is exactly the last UPDATE of its topic this client was
    /// sent (so it holds the state the delta applies to: not after a conflated UPDATE, a resume or the first time).
    /// </summary>
    private bool UsesDelta(ServerFrame frame)
    {
        if (!_deltas) return false;
        // A SNAPSHOT replaces the client's state, possibly with a newer one than its last UPDATE: no delta applies to it.
        if (frame.Type == ServerMessageType.Snapshot) _lastUpdateSent = null;
        if (frame.Type != ServerMessageType.Update || frame.Topic is not { } topic || frame.Sequence is not { } sequence)
            return false;
        var last = _lastUpdateSent ??= Enumerable.Repeat(-1L, Topics.Count).ToArray();
        var delta = frame.Delta is { } d && last[(int)topic] == d.BaseOffset;
        last[(int)topic] = sequence.Offset;
        return delta;
    }

    private void Fault(Exception e)
    {
        try { onFault?.Invoke(e); }
        catch (Exception) { /* reporting must not fail the drain */ }
    }

    /// <summary>Called by the drain before each send: the next frame, or the end of this drain.</summary>
    private Next TakeNext(out ServerFrame frame)
    {
        lock (_gate)
        {
            if (_queue is { } queue && queue.TryDequeue(out frame))
            {
                // Frames already waiting behind this one leave with it in one write.
                if (stream is ActivityTrackingStream held) held.HoldWrites = queue.Count > 0;
                return Next.Frame;
            }
            frame = null!;
            return QueueEmptied();
        }
    }

    /// <summary>Under the lock, when nothing is left to send: close, stop or go idle.</summary>
    private Next QueueEmptied()
    {
        if (stream is ActivityTrackingStream held) held.HoldWrites = false;
        if (_completed && !_abandoned) return Next.Close; // stay the drain: the close frame is ours to send
        _draining = false;
        return _abandoned ? Next.Stop : Next.Idle;
    }

    private async Task CloseAsync()
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(_closeStatus, _closeReason, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionFailure(e)) { }
        _finished.TrySetResult();
    }

    /// <summary>
    /// What a peer that goes away, or a socket that is aborted under a send, throws. Anything else
    /// (an InvalidOperationException included) is a bug: reported through onFault, not swallowed.
    /// </summary>
    private static bool IsConnectionFailure(Exception e) =>
        e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException;
}
