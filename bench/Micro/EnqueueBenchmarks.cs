using System.Net.WebSockets;
using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;

namespace Bench.Micro;

/// <summary>
/// Enqueueing frames to one connection and its send loop writing them as WebSocket frames to a
/// stream that discards them: the per-delivery cost a socket adds above the network.
/// </summary>
[MemoryDiagnoser]
public class EnqueueBenchmarks
{
    /// <summary>A duplex stream whose reads never complete and whose writes count bytes.</summary>
    private sealed class SinkStream : Stream
    {
        private long _written;
        public long Written => Volatile.Read(ref _written);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref _written, buffer.Length);
            return ValueTask.CompletedTask;
        }
        public override void Write(byte[] buffer, int offset, int count) => Interlocked.Add(ref _written, count);
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set { } }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) { }
    }

    private SinkStream _sink = null!;
    private WebSocketClientSocket _socket = null!;
    private ServerFrame _frame = null!;

    [Params(1, 16)]
    public int FramesPerBurst;

    [GlobalSetup]
    public void Setup()
    {
        _sink = new SinkStream();
        var activity = new ActivityTrackingStream(_sink);
        var webSocket = WebSocket.CreateFromStream(activity, new WebSocketCreationOptions { IsServer = true });
        _socket = new WebSocketClientSocket(webSocket, activity, outboundQueueLimit: 1024, maxMessageBytes: 16 * 1024);
        _socket.Start(ActorRefs.Nobody);
        _frame = ServerMessages.Published(ServerMessageType.Update, Topic.Cameras, Payloads.Data, DateTimeOffset.UtcNow);
    }

    [GlobalCleanup]
    public void Cleanup() => _socket.Abort();

    [Benchmark(Description = "enqueue a burst and wait until written")]
    public void EnqueueAndWrite()
    {
        var target = _sink.Written + (long)FramesPerBurst * (_frame.Utf8Json.Length + 4);
        for (var i = 0; i < FramesPerBurst; i++)
            if (!_socket.TrySend(_frame)) throw new InvalidOperationException("queue full");
        var spin = new SpinWait();
        while (_sink.Written < target) spin.SpinOnce(-1);
    }
}
