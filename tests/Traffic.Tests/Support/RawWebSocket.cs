using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Traffic.Tests.Support;

/// <summary>A frame as the server sent it (servers never mask).</summary>
public sealed record RawFrame(bool Fin, int Opcode, byte[] Payload)
{
    public const int Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10;

    /// <summary>The close code of a close frame (null when it carries none).</summary>
    public int? CloseCode => Opcode == Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string PayloadText => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A client that speaks WebSocket by hand over a plain TCP socket, so a spec can send what no
/// well-behaved library would: broken handshakes, unmasked or reserved frames, lies about lengths,
/// truncated frames. Every read is bounded by a deadline; a connection the server leaves hanging is
/// simply dropped by the caller.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    /// <summary>RFC 6455's sample key; the server's answer is not checked here.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private RawWebSocket(Socket socket) => _socket = socket;

    public static async Task<RawWebSocket> ConnectAsync(Uri baseAddress)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(baseAddress.Host, baseAddress.Port);
            return new RawWebSocket(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A valid upgrade request for <paramref name="pathAndQuery"/>.</summary>
    public static string UpgradeRequest(Uri baseAddress, string pathAndQuery = "/ws") =>
        $"GET {pathAndQuery} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: {SampleKey}\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// <summary>Sends bytes; false when the server has already closed the connection.</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            while (bytes.Length > 0)
            {
                var n = await _socket.SendAsync(bytes, SocketFlags.None);
                bytes = bytes[n..];
            }
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return false; }
    }

    public Task<bool> SendAsync(string ascii) => SendAsync(Encoding.UTF8.GetBytes(ascii));

    /// <summary>Reads an HTTP response head (up to the blank line); null when the server closed or the deadline passed.</summary>
    public async Task<string?> ReadHeadAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        while (true)
        {
            var at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (at >= 0)
            {
                var head = Encoding.ASCII.GetString(_buffer, _start, at);
                _start += at + 4;
                return head;
            }
            if (!await FillAsync(deadline.Token)) return null;
        }
    }

    /// <summary>The status code of a response head ("HTTP/1.1 101 Switching Protocols" gives 101).</summary>
    public static int? StatusOf(string? head) =>
        head is not null && head.Length >= 12 && head.StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(head.AsSpan(9, 3), out var s) ? s : null;

    /// <summary>Reads one whole frame; null when the connection ended or the deadline passed.</summary>
    public async Task<RawFrame?> ReadFrameAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        while (true)
        {
            if (TryParseFrame(out var frame)) return frame;
            if (!await FillAsync(deadline.Token)) return null;
        }
    }

    /// <summary>
    /// Reads frames until <paramref name="stop"/> matches one (returned), the server closes the
    /// connection (its close frame returned, or null when it just dropped it), or the deadline passes (null).
    /// </summary>
    public async Task<RawFrame?> ReadUntilAsync(Func<RawFrame, bool> stop, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return null;
            var frame = await ReadFrameAsync(left);
            if (frame is null || frame.Opcode == RawFrame.Close || stop(frame)) return frame;
        }
    }

    /// <summary>Ends the connection at once with a TCP reset (no FIN, nothing left to read).</summary>
    public void Abort()
    {
        try { _socket.LingerState = new LingerOption(true, 0); } catch (Exception) { }
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A compressed server message's payload inflated (RFC 7692 7.2.2: append 00 00 FF FF and inflate raw).</summary>
    public static byte[] Inflate(byte[] payload)
    {
        using var input = new MemoryStream([.. payload, 0x00, 0x00, 0xFF, 0xFF]);
        using var inflate = new System.IO.Compression.DeflateStream(input, System.IO.Compression.CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>
    /// Encodes one client frame. Everything the RFC forbids can be asked for: no mask, reserved bits
    /// and opcodes, a declared length that differs from the payload sent.
    /// </summary>
    public static byte[] Frame(int opcode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, int rsv = 0,
        ulong? declaredLength = null, uint maskKey = 0x37FA213D)
    {
        var length = declaredLength ?? (ulong)payload.Length;
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F)) };
        var maskBit = masked ? 0x80 : 0;
        if (length <= 125) header.Add((byte)(maskBit | (int)length));
        else if (length <= ushort.MaxValue)
        {
            header.Add((byte)(maskBit | 126));
            header.Add((byte)(length >> 8));
            header.Add((byte)length);
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            for (var shift = 56; shift >= 0; shift -= 8) header.Add((byte)(length >> shift));
        }
        var key = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(key, maskKey);
        if (masked) header.AddRange(key);
        var frame = new byte[header.Count + payload.Length];
        header.CopyTo(frame);
        for (var i = 0; i < payload.Length; i++)
            frame[header.Count + i] = masked ? (byte)(payload[i] ^ key[i & 3]) : payload[i];
        return frame;
    }

    private async Task<bool> FillAsync(CancellationToken deadline)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            if (_start == 0) return false; // a frame larger than the buffer: not something these specs read
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        try
        {
            var n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, deadline);
            if (n == 0) return false;
            _end += n;
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { return false; }
    }

    private bool TryParseFrame(out RawFrame frame)
    {
        frame = null!;
        var span = _buffer.AsSpan(_start, _end - _start);
        if (span.Length < 2) return false;
        var fin = (span[0] & 0x80) != 0;
        var opcode = span[0] & 0x0F;
        var masked = (span[1] & 0x80) != 0;
        long length = span[1] & 0x7F;
        var at = 2;
        if (length == 126)
        {
            if (span.Length < 4) return false;
            length = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
            at = 4;
        }
        else if (length == 127)
        {
            if (span.Length < 10) return false;
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
            at = 10;
        }
        if (masked) at += 4;
        if (span.Length < at + length) return false;
        var payload = span.Slice(at, (int)length).ToArray();
        if (masked)
        {
            var key = span.Slice(at - 4, 4);
            for (var i = 0; i < payload.Length; i++) payload[i] ^= key[i & 3];
        }
        _start += at + (int)length;
        frame = new RawFrame(fin, opcode, payload);
        return true;
    }
}
