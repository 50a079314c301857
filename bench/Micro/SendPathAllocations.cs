using System.IO.Pipelines;
using System.Net.WebSockets;
using Akka.Actor;
using Traffic.Actors.Protocol;
using Traffic.Host.WebSockets;

namespace Bench.Micro;

/// <summary>
/// Bytes allocated per delivery on the direct path's send side (no BenchmarkDotNet): a
/// <see cref="WebSocketClientSocket"/> over a <see cref="DuplexPipeStream"/> on a pair of pipes (what
/// Kestrel's transport is), a reader that drains the output pipe, and N frames offered and woken
/// in bursts; <c>GC.GetTotalAllocatedBytes(true)</c> around the deliveries, all threads counted.
/// <c>dotnet run -c Release --project bench/Micro -- send-allocations</c>
/// </summary>
public static class SendPathAllocations
{
    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    public static void Run()
    {
        Console.WriteLine("scenario | deliveries | bytes allocated | bytes per delivery");
        Console.WriteLine("---|---|---|---");
        foreach (var compress in new[] { false, true })
        foreach (var burst in new[] { 1, 16 })
        {
            // Warm up (JIT, pools, the frame's cached deflated bytes), then measure.
            Measure(burst, compress, 20_000, print: false);
            Measure(burst, compress, 200_000, print: true);
        }
    }

    private static void Measure(int burst, bool compress, int deliveries, bool print)
    {
        var fromClient = new Pipe();
        var toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        var stream = new DuplexPipeStream(new Transport(fromClient.Reader, toClient.Writer));
        var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        var compressor = compress ? new FrameCompressor(minBytes: 0) : null;
        var socket = new WebSocketClientSocket(webSocket, stream, outboundQueueLimit: 1024, maxMessageBytes: 16 * 1024, compression: compressor);
        socket.Start(ActorRefs.Nobody);
        var frame = ServerMessages.Published(ServerMessageType.Update, Topic.Cameras, Payloads.Data, DateTimeOffset.UtcNow);

        long received = 0;
        var reader = Task.Run(async () =>
        {
            while (true)
            {
                var read = await toClient.Reader.ReadAsync();
                Interlocked.Add(ref received, read.Buffer.Length);
                toClient.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) return;
            }
        });

        // The bytes of one delivered frame on the wire: learn them from the first burst.
        Deliver(socket, frame, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref received) == 0) spin.SpinOnce(-1);
        Thread.Sleep(50);
        var perFrame = Volatile.Read(ref received);
        var target = perFrame;

        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var sent = 0; sent < deliveries; sent += burst)
        {
            Deliver(socket, frame, burst);
            target += perFrame * burst;
            while (Volatile.Read(ref received) < target) spin.SpinOnce(-1);
        }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        if (print)
            Console.WriteLine($"burst {burst}, {(compress ? "deflated" : "plain")} ({perFrame} B on the wire) | {deliveries} | {allocated} | {(double)allocated / deliveries:F1}");
        socket.Abort();
        toClient.Writer.Complete();
    }

    private static void Deliver(WebSocketClientSocket socket, ServerFrame frame, int burst)
    {
        var wake = false;
        for (var i = 0; i < burst; i++)
            wake |= socket.Offer(frame) == Traffic.Actors.Transport.Offered.QueuedWake;
        if (wake) socket.Wake();
    }
}
