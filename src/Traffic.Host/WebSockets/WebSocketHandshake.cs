using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The server side of the RFC 6455 opening handshake, read from the raw bytes of a connection's
/// first request: is it a WebSocket upgrade, to which path and query, with which key.
/// </summary>
public sealed record WebSocketHandshake(string Path, string Query, string? Key, string? Version)
{
    /// <summary>Longest request head accepted (request line and headers).</summary>
    public const int MaxHeadBytes = 8 * 1024;

    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>Where the request head ends (after its blank line), if it has arrived whole.</summary>
    public static bool TryFindHeadEnd(ReadOnlySequence<byte> buffer, out SequencePosition end)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd, advancePastDelimiter: true))
        {
            end = reader.Position;
            return true;
        }
        end = default;
        return false;
    }

    /// <summary>
    /// Parses a request head. Null unless it is an HTTP/1.1 GET asking to upgrade to websocket;
    /// anything else is left to the ordinary HTTP pipeline.
    /// </summary>
    public static WebSocketHandshake? TryParse(ReadOnlySequence<byte> head)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0] != "GET" || requestLine[2] != "HTTP/1.1") return null;

        string? upgrade = null, connection = null, key = null, version = null;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) upgrade = value;
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase)) connection = value;
            else if (name.Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase)) key = value;
            else if (name.Equals("Sec-WebSocket-Version", StringComparison.OrdinalIgnoreCase)) version = value;
        }

        var asksUpgrade = upgrade is not null && upgrade.Equals("websocket", StringComparison.OrdinalIgnoreCase) &&
                          connection is not null && connection.Split(',').Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase));
        if (!asksUpgrade) return null;

        var target = requestLine[1];
        var question = target.IndexOf('?');
        return new WebSocketHandshake(question < 0 ? target : target[..question], question < 0 ? "" : target[question..], key, version);
    }

    /// <summary>Why the upgrade cannot be accepted, or null when it can.</summary>
    public string? Problem =>
        Version != "13" ? "Sec-WebSocket-Version must be 13"
        : Key is null || !IsValidKey(Key) ? "Sec-WebSocket-Key must be 16 bytes in base64"
        : null;

    /// <summary>The 101 response that completes the handshake.</summary>
    public byte[] SwitchingProtocolsResponse()
    {
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Key + AcceptGuid)));
        return Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
    }

    /// <summary>An error response with an RFC 7807 problem body; the connection closes after it.</summary>
    public static byte[] ProblemResponse(int status, string reason, string title, string detail, string? extraHeader = null)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(new { type = "about:blank", title, status, detail });
        var bytes = Encoding.UTF8.GetByteCount(body);
        var extra = extraHeader is null ? "" : extraHeader + "\r\n";
        return Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\nContent-Length: {bytes}\r\n{extra}Connection: close\r\n\r\n{body}");
    }

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return Convert.TryFromBase64String(key, decoded, out var length) && length == 16;
    }
}
