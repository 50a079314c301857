using System.Net.WebSockets;
using Traffic.Actors.Protocol;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The outbound side of one socket: a bounded queue that exists only while a send is in flight.
/// <para>
/// A frame offered to an idle socket is sent at once on the caller's thread (the registry's, for a
/// publish): when the transport takes it without waiting, as it does unless the client reads too
/// slowly, the delivery costs no queue, no task and no thread hop. Only when a send has to wait
/// do later frames queue, up to the limit, and a drain loop sends them, holding writes back while
/// more follow so that a backlog leaves in few large writes.
/// </para>
/// Never blocks the caller; a full queue refuses the frame and leaves the decision to the caller.
/// </summary>
public sealed class OutboundWriter(WebSocket socket, SocketStream? stream, int queueLimit)
{
    private enum Next { Frame, Idle, Close }

    private readonly object _gate = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Queue<ServerFrame>? _queue;
    private bool _sending;   // one sender at a time: inline on a caller, or the drain loop
    private bool _completed; // accepts no more frames
    private WebSocketCloseStatus _closeStatus;
    private string _closeReason = "";

    /// <summary>Completes once the close frame is sent, or the writer failed or was abandoned.</summary>
    public Task Finished => _finished.Task;

    public bool TrySend(ServerFrame frame)
    {
        lock (_gate)
        {
            if (_completed) return false;
            if (_sending)
            {
                var queue = _queue ??= new Queue<ServerFrame>();
                if (queue.Count >= queueLimit) return false;
                queue.Enqueue(frame);
                return true;
            }
            _sending = true;
        }
        SendInline(frame);
        return true;
    }

    /// <summary>Sends what is queued, then a close frame; later frames are refused.</summary>
    public void Complete(WebSocketCloseStatus status, string reason)
    {
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            _closeStatus = status;
            _closeReason = reason;
            if (_sending) return; // the sender closes once the queue is empty
            _sending = true;
        }
        _ = DrainAsync(ValueTask.CompletedTask);
    }

    /// <summary>Refuses everything from now on and drops what is queued (the socket is being aborted).</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _completed = true;
            _queue = null;
        }
        _finished.TrySetResult();
    }

    private void SendInline(ServerFrame frame)
    {
        while (true)
        {
            ValueTask send;
            try { send = socket.SendAsync(new ReadOnlyMemory<byte>(frame.Utf8Json), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None); }
            catch (Exception e) when (IsConnectionFailure(e)) { Fail(); return; }

            if (!send.IsCompleted) { _ = DrainAsync(send); return; }
            try { send.GetAwaiter().GetResult(); }
            catch (Exception e) when (IsConnectionFailure(e)) { Fail(); return; }

            switch (TakeNext(out frame))
            {
                case Next.Idle: return;
                case Next.Close: _ = CloseAsync(); return;
            }
        }
    }

    private async Task DrainAsync(ValueTask inFlight)
    {
        try
        {
            await inFlight.ConfigureAwait(false);
            Next next;
            while ((next = TakeNext(out var frame)) == Next.Frame)
                await socket.SendAsync(new ReadOnlyMemory<byte>(frame.Utf8Json), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            if (next == Next.Close) await CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionFailure(e)) { Fail(); }
    }

    /// <summary>Called by the sender after each send: the next frame, or the end of this sending turn.</summary>
    private Next TakeNext(out ServerFrame frame)
    {
        lock (_gate)
        {
            if (_queue is { Count: > 0 } queue)
            {
                frame = queue.Dequeue();
                // Frames already waiting behind this one leave with it in one write.
                if (stream is not null) stream.HoldWrites = queue.Count > 0;
                return Next.Frame;
            }
            frame = null!;
            if (stream is not null) stream.HoldWrites = false;
            if (_completed) return Next.Close; // stay the sender: the close frame is ours to send
            _sending = false;
            return Next.Idle;
        }
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

    private void Fail()
    {
        Abandon();
        socket.Abort(); // the receive loop sees it and reports the end to the connection actor
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException;
}
