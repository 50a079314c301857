using System.Net.WebSockets;
using System.Text;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;
using Xunit;

namespace Traffic.Tests.Host;

public sealed class OutboundWriterSpecs
{
    /// <summary>
    /// The transport beneath a server WebSocket: writes complete at once while the gate is open,
    /// and wait while it is closed (a client that reads too slowly). Records what was written.
    /// </summary>
    private sealed class GatedTransport : Stream
    {
        private readonly object _lock = new();
        private TaskCompletionSource _gate = Open();
        private readonly List<byte[]> _writes = [];

        /// <summary>A copy of what was written so far (the drain writes from another thread).</summary>
        public List<byte[]> Writes { get { lock (_lock) return [.. _writes]; } }

        private static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }

        public void Shut() { lock (_lock) _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); }
        public void Reopen() { lock (_lock) _gate.TrySetResult(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (_lock) _writes.Add(buffer.ToArray());
            Task gate;
            lock (_lock) gate = _gate.Task;
            return new ValueTask(gate);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set { } }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) { }
    }

    private readonly GatedTransport _transport = new();
    private readonly ActivityTrackingStream _stream;
    private readonly OutboundWriter _writer;

    public OutboundWriterSpecs()
    {
        _stream = new ActivityTrackingStream(_transport);
        var socket = WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true });
        _writer = new OutboundWriter(socket, _stream, queueLimit: 3);
    }

    /// <summary>A frame that is never conflated (an ALERT): what the queue's bounds apply to.</summary>
    private static ServerFrame Frame(string text) =>
        new(ServerMessageType.Alert, Topic.Cameras, Encoding.UTF8.GetBytes(text));

    /// <summary>A topic's full-state UPDATE: a newer one of the same topic replaces it while it waits.</summary>
    private static ServerFrame Update(Topic topic, string text) =>
        new(ServerMessageType.Update, topic, Encoding.UTF8.GetBytes(text));

    /// <summary>The text payloads of every unmasked server frame in what the transport received, in order.</summary>
    private List<string> FramesWritten()
    {
        var bytes = _transport.Writes.SelectMany(w => w).ToArray();
        var payloads = new List<string>();
        for (var i = 0; i < bytes.Length;)
        {
            var opcode = bytes[i] & 0x0F;
            var length = bytes[i + 1] & 0x7F; // short test payloads only
            var payload = bytes.AsSpan(i + 2, length);
            payloads.Add(opcode == 0x8 ? $"close:{(payload[0] << 8) | payload[1]}" : Encoding.UTF8.GetString(payload));
            i += 2 + length;
        }
        return payloads;
    }

    [Fact]
    public async Task Frames_leave_in_order_without_the_caller_waiting()
    {
        Assert.True(_writer.TrySend(Frame("a")));
        Assert.True(_writer.TrySend(Frame("b")));
        await WaitUntil(() => FramesWritten().Count == 2);
        Assert.Equal(["a", "b"], FramesWritten());
    }

    [Fact]
    public async Task While_a_send_waits_frames_queue_up_to_the_limit_and_then_leave_in_order_in_one_write()
    {
        _transport.Shut();
        Assert.True(_writer.TrySend(Frame("1")));
        await WaitUntil(() => _transport.Writes.Count == 1); // "1" is in flight, waiting on the transport
        Assert.True(_writer.TrySend(Frame("2")));
        Assert.True(_writer.TrySend(Frame("3")));
        Assert.True(_writer.TrySend(Frame("4")));
        Assert.False(_writer.TrySend(Frame("5"))); // the queue (3) is full: refused, not dropped silently

        _transport.Reopen();
        await WaitUntil(() => FramesWritten().Count == 4);
        Assert.Equal(["1", "2", "3", "4"], FramesWritten());
        Assert.Equal(2, _transport.Writes.Count); // "1" alone, then the backlog of three in one write
    }

    [Fact]
    public async Task Completing_an_idle_writer_sends_the_close_frame()
    {
        _writer.Complete(WebSocketCloseStatus.NormalClosure, "done");
        await _writer.Finished.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["close:1000"], FramesWritten());
    }

    [Fact]
    public async Task Completing_sends_what_is_queued_then_the_close_frame_and_drops_later_frames()
    {
        _transport.Shut();
        _writer.TrySend(Frame("1"));
        await WaitUntil(() => _transport.Writes.Count == 1);
        _writer.TrySend(Frame("2"));
        _writer.Complete(WebSocketCloseStatus.EndpointUnavailable, "bye");
        Assert.True(_writer.TrySend(Frame("late"))); // taken and dropped: not a full queue

        _transport.Reopen();
        await _writer.Finished.WaitAsync(TimeSpan.FromSeconds(10));
        var frames = FramesWritten();
        Assert.Equal(["1", "2"], frames.Take(2));
        Assert.Equal("close:1001", frames[2]);
        Assert.Equal(3, frames.Count);
    }

    [Fact]
    public async Task Abandoning_during_a_send_finishes_only_once_the_send_has_ended()
    {
        _transport.Shut();
        _writer.TrySend(Frame("1"));
        await WaitUntil(() => _transport.Writes.Count == 1); // the drain is inside the transport's write
        _writer.TrySend(Frame("2"));

        _writer.Abandon();
        Assert.False(_writer.Finished.IsCompleted); // the transport is still in use

        _transport.Reopen();
        await _writer.Finished.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["1"], FramesWritten()); // what was queued was dropped
    }

    [Fact]
    public void A_closing_writer_takes_frames_and_drops_them_rather_than_report_a_full_queue()
    {
        _transport.Shut();
        _writer.Complete(WebSocketCloseStatus.NormalClosure, "done");
        for (var i = 0; i < 10; i++) Assert.True(_writer.TrySend(Frame($"{i}")));
    }

    [Fact]
    public async Task Queued_bytes_are_bounded_too_though_a_single_large_frame_still_goes_out()
    {
        var writer = new OutboundWriter(WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true }), _stream,
            queueLimit: 100, queueByteLimit: 10);
        _transport.Shut();
        Assert.True(writer.TrySend(Frame("in-flight"))); // taken by the drain at once: no longer queued
        await WaitUntil(() => _transport.Writes.Count == 1);
        Assert.True(writer.TrySend(Frame("12345")));
        Assert.False(writer.TrySend(Frame("123456"))); // 11 bytes would wait: refused
        Assert.True(writer.TrySend(Frame("12345")));   // exactly 10
        Assert.False(writer.TrySend(Frame("x")));

        _transport.Reopen();
        await WaitUntil(() => FramesWritten().Count == 3);
        Assert.True(writer.TrySend(Frame(new string('L', 50)))); // larger than the bound, into an empty queue: taken
        await WaitUntil(() => FramesWritten().Count == 4);
    }

    [Fact]
    public async Task A_client_that_is_behind_has_a_waiting_update_replaced_by_the_newer_one_of_its_topic_which_leaves_after_the_frames_sent_before_it()
    {
        var conflated = new List<ServerFrame>();
        var writer = new OutboundWriter(WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true }), _stream,
            queueLimit: 2, onConflated: frame => conflated.Add(frame));
        _transport.Shut();
        Assert.True(writer.TrySend(Frame("in-flight")));
        await WaitUntil(() => _transport.Writes.Count == 1);

        var stale = Update(Topic.Cameras, "cameras-1");
        Assert.True(writer.TrySend(stale));
        Assert.True(writer.TrySend(Frame("alert-1"))); // the queue is at its bound (2): behind from here on
        Assert.True(writer.TrySend(Update(Topic.Weather, "weather-1")));
        Assert.True(writer.TrySend(Update(Topic.Cameras, "cameras-2"))); // cameras-1 still waits: dropped
        Assert.True(writer.TrySend(Frame("alert-2")));
        Assert.True(writer.TrySend(Update(Topic.Cameras, "cameras-3"))); // cameras-2 still waits: dropped

        _transport.Reopen();
        await WaitUntil(() => FramesWritten().Count == 5);
        Assert.Equal(["in-flight", "alert-1", "weather-1", "alert-2", "cameras-3"], FramesWritten());
        Assert.Same(stale, conflated[0]);
        Assert.Equal(["cameras-1", "cameras-2"], conflated.Select(f => f.ToString()));
    }

    [Fact]
    public async Task A_client_under_its_bound_is_not_behind_and_gets_every_update()
    {
        var conflated = 0;
        var writer = new OutboundWriter(WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true }), _stream,
            queueLimit: 10, onConflated: _ => conflated++);
        _transport.Shut();
        Assert.True(writer.TrySend(Frame("in-flight")));
        await WaitUntil(() => _transport.Writes.Count == 1);
        for (var i = 1; i <= 10; i++) Assert.True(writer.TrySend(Update(Topic.Cameras, $"cameras-{i}")));

        _transport.Reopen();
        await WaitUntil(() => FramesWritten().Count == 11);
        Assert.Equal(["in-flight", .. Enumerable.Range(1, 10).Select(i => $"cameras-{i}")], FramesWritten());
        Assert.Equal(0, conflated);
    }

    [Fact]
    public async Task Updates_never_fill_the_queue_only_kept_frames_do()
    {
        _transport.Shut();
        Assert.True(_writer.TrySend(Frame("in-flight")));
        await WaitUntil(() => _transport.Writes.Count == 1);
        for (var i = 0; i < 100; i++)
            foreach (var topic in Topics.Every) Assert.True(_writer.TrySend(Update(topic, $"{topic}-{i}")));
        Assert.True(_writer.TrySend(Frame("a1")));
        Assert.True(_writer.TrySend(Frame("a2")));
        Assert.True(_writer.TrySend(Frame("a3")));
        Assert.False(_writer.TrySend(Frame("a4"))); // three kept frames wait (the limit): refused
        Assert.True(_writer.TrySend(Update(Topic.Cameras, "cameras-last"))); // still conflated, not refused

        _transport.Reopen();
        var expected = new List<string> { "in-flight" };
        expected.AddRange(Topics.Every.Where(t => t != Topic.Cameras).Select(t => $"{t}-99"));
        expected.AddRange(["a1", "a2", "a3", "cameras-last"]);
        await WaitUntil(() => FramesWritten().Count == expected.Count);
        Assert.Equal(expected, FramesWritten());
    }

    [Fact]
    public async Task Long_runs_of_conflation_keep_every_kept_frame_in_order_and_only_the_newest_update()
    {
        const int limit = 200;
        var writer = new OutboundWriter(WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true }), _stream,
            queueLimit: limit);
        _transport.Shut();
        Assert.True(writer.TrySend(Frame("in-flight")));
        await WaitUntil(() => _transport.Writes.Count == 1);

        // A model of the rule: under the bound everything queues; at the bound a new UPDATE drops the
        // waiting ones of its topic and a new ALERT drops every superseded UPDATE first. What stays
        // leaves in order (the slots' holes are squeezed out many times meanwhile).
        var model = new List<(string Text, Topic? Conflates)>();
        var topics = new[] { Topic.Cameras, Topic.Weather, Topic.Accidents };
        void Offer(string text, Topic? topic)
        {
            if (model.Count >= limit)
            {
                if (topic is { } t) model.RemoveAll(m => m.Conflates == t);
                else
                {
                    var newest = model.Where(m => m.Conflates is not null).GroupBy(m => m.Conflates).Select(g => g.Last()).ToHashSet();
                    model.RemoveAll(m => m.Conflates is not null && !newest.Contains(m));
                }
            }
            Assert.True(writer.TrySend(topic is { } some ? Update(some, text) : Frame(text)));
            model.Add((text, topic));
        }
        for (var i = 0; i < 3000; i++)
        {
            Offer($"{topics[i % 3]}-{i}", topics[i % 3]);
            if (i % 20 == 0) Offer($"a{i}", null); // 150 ALERTs: under the bound on their own
        }
        model.Insert(0, ("in-flight", null));

        _transport.Reopen();
        await WaitUntil(() => FramesWritten().Count == model.Count);
        Assert.Equal(model.Select(m => m.Text), FramesWritten());
    }

    /// <summary>A WebSocket whose sends fail with an exception no peer can cause (a bug).</summary>
    private sealed class BuggyWebSocket : WebSocket
    {
        public int Aborts;
        public override WebSocketCloseStatus? CloseStatus => null;
        public override string? CloseStatusDescription => null;
        public override WebSocketState State => Aborts > 0 ? WebSocketState.Aborted : WebSocketState.Open;
        public override string? SubProtocol => null;
        public override void Abort() => Interlocked.Increment(ref Aborts);
        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug beneath the writer");
        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => new WebSocketReceiveResult(0, WebSocketMessageType.Close, true));
        public override void Dispose() { }
    }

    [Fact]
    public async Task An_unexpected_exception_in_the_drain_finishes_the_writer_aborts_the_socket_and_is_reported_once()
    {
        var socket = new BuggyWebSocket();
        var faults = new List<Exception>();
        var writer = new OutboundWriter(socket, null, queueLimit: 3, onFault: e => { lock (faults) faults.Add(e); });

        Assert.True(writer.TrySend(Frame("1")));
        await writer.Finished.WaitAsync(TimeSpan.FromSeconds(10)); // not left "draining" forever
        Assert.Equal(1, socket.Aborts);
        Assert.IsType<InvalidOperationException>(Assert.Single(faults));
        Assert.True(writer.TrySend(Frame("2"))); // abandoned: later frames are dropped, never a false "slow client"
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
