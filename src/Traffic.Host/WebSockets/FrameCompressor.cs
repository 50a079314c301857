using System.IO.Compression;
using Traffic.Actors.Metrics;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Deflates a frame's payload for permessage-deflate (RFC 7692 section 7.2.1) without context
/// takeover: raw DEFLATE of the message alone, ended with a sync flush whose trailing
/// 0x00 0x00 0xFF 0xFF is stripped. The result depends on the message only, so it is made once per
/// frame and cached on it (<see cref="Traffic.Actors.Protocol.ServerFrame.Deflated"/>), then sent
/// as is to every socket that negotiated the extension. One instance per service.
/// </summary>
public sealed class FrameCompressor
{
    private static readonly byte[] FlushTail = [0x00, 0x00, 0xFF, 0xFF];
    private long _compressed;

    /// <param name="minBytes">Frames shorter than this go uncompressed (a PONG or an ack would not shrink).</param>
    public FrameCompressor(int minBytes, TrafficMetrics? metrics = null)
    {
        MinBytes = minBytes;
        Deflate = DeflateOnce;
        metrics?.Meter.CreateObservableCounter("traffic.frames.compressed", () => Interlocked.Read(ref _compressed), unit: "{frame}",
            description: "Frames deflated for permessage-deflate: once per frame, whatever the number of compressing recipients");
    }

    public int MinBytes { get; }

    /// <summary>Payloads deflated so far (one per frame, not per socket).</summary>
    public long Compressed => Interlocked.Read(ref _compressed);

    /// <summary>The deflate function handed to the frames' cache (one delegate, not one per call).</summary>
    public Func<byte[], byte[]> Deflate { get; }

    public bool ShouldCompress(int length) => length >= MinBytes;

    private byte[] DeflateOnce(byte[] payload)
    {
        Interlocked.Increment(ref _compressed);
        return DeflateMessage(payload);
    }

    /// <summary>One message, deflated on its own (no shared window), as its permessage-deflate payload.</summary>
    public static byte[] DeflateMessage(ReadOnlySpan<byte> payload)
    {
        var output = new MemoryStream(payload.Length / 4 + 64);
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(payload);
            deflate.Flush(); // a sync flush: the data so far, ended on a byte boundary with an empty stored block
            var written = output.GetBuffer().AsSpan(0, (int)output.Length);
            if (!written.EndsWith(FlushTail))
                throw new InvalidOperationException("A sync flush did not end with 00 00 FF FF (RFC 7692 7.2.1)");
            return written[..^FlushTail.Length].ToArray(); // taken before disposing, which would add a final block
        }
    }
}
