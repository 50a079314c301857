using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The server side of the RFC 6455 opening handshake, taken from a connection's first request head
/// (<see cref="RequestHead"/>): is it a WebSocket upgrade, to which path and query, with which key,
/// and what is wrong with it if it cannot be accepted.
/// </summary>
public sealed record WebSocketHandshake(string Path, string Query, string? Key, string? Version)
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public string? Host { get; init; }
    public string? Origin { get; init; }
    public string? ForwardedFor { get; init; }
    public IReadOnlyList<string> SubProtocols { get; init; } = [];

    /// <summary>The Sec-WebSocket-Extensions header values, in order (RFC 6455 9.1: offers, most preferred first).</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    /// <summary>Set when the request asks to upgrade but breaks RFC 6455 / RFC 9112; answered with its status.</summary>
    public HeadFault? Fault { get; init; }

    /// <summary>Parses and interprets a whole head; null when it is malformed or not an upgrade (tests use this).</summary>
    public static WebSocketHandshake? TryParse(ReadOnlySequence<byte> head) =>
        RequestHead.Parse(head, HeadLimits.Default, out _) is { } parsed ? From(parsed) : null;

    /// <summary>
    /// Null unless the request is a GET asking to upgrade to websocket (anything else is left to the
    /// ordinary HTTP pipeline). An upgrade that breaks the RFCs comes back with its <see cref="Fault"/>.
    /// </summary>
    public static WebSocketHandshake? From(RequestHead head) => From(head.Method, head.Target, head.Version, head.Values);

    /// <summary>The same for a request that reached the HTTP pipeline (an upgrade on a reused keep-alive connection).</summary>
    public static WebSocketHandshake? From(HttpRequest request) =>
        From(request.Method, request.Path.Value + request.QueryString.Value, request.Protocol,
            name => request.Headers.TryGetValue(name, out var values) ? values.Where(v => v is not null).Select(v => v!).ToList() : []);

    /// <summary>
    /// The one reading of RFC 6455 section 4.2.1 for both accept paths: <paramref name="values"/> gives
    /// a header's values, one per occurrence.
    /// </summary>
    private static WebSocketHandshake? From(string method, string target, string httpVersion, Func<string, IReadOnlyList<string>> values)
    {
        if (method != "GET") return null;
        var asksUpgrade = values("Upgrade").Any(v => v.Equals("websocket", StringComparison.OrdinalIgnoreCase)) &&
                          values("Connection").SelectMany(v => v.Split(','))
                              .Any(t => t.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase));
        if (!asksUpgrade) return null;

        var key = Single(values("Sec-WebSocket-Key"), out var keyRepeated);
        var version = Single(values("Sec-WebSocket-Version"), out var versionRepeated);
        var host = Single(values("Host"), out var hostRepeated);
        var origin = Single(values("Origin"), out var originRepeated);
        var question = target.IndexOf('?');
        var handshake = new WebSocketHandshake(question < 0 ? target : target[..question], question < 0 ? "" : target[question..], key, version)
        {
            Host = host,
            Origin = origin,
            ForwardedFor = string.Join(",", values("X-Forwarded-For")) is { Length: > 0 } forwarded ? forwarded : null,
            SubProtocols = values("Sec-WebSocket-Protocol"),
            Extensions = values("Sec-WebSocket-Extensions"),
        };

        var hasBody = values("Transfer-Encoding").Count > 0 || values("Content-Length").Any(v => v != "0");
        string? problem =
            httpVersion != "HTTP/1.1" ? $"A WebSocket upgrade needs HTTP/1.1, not {httpVersion} (RFC 6455 section 4.1)"
            : host is null ? "The Host header is missing (RFC 9112 section 3.2)"
            : hostRepeated ? "The Host header appears more than once (RFC 9112 section 3.2)"
            : keyRepeated ? "Sec-WebSocket-Key appears more than once (RFC 6455 section 11.3.1)"
            : versionRepeated ? "Sec-WebSocket-Version appears more than once (RFC 6455 section 11.3.5)"
            : originRepeated ? "The Origin header appears more than once"
            : hasBody ? "A WebSocket upgrade is a GET without a body: no Content-Length (other than 0) or Transfer-Encoding"
            : null;
        if (problem is not null) return handshake with { Fault = new HeadFault(StatusCodes.Status400BadRequest, "Bad WebSocket handshake", problem) };

        if (version != "13")
            return handshake with { Fault = new HeadFault(StatusCodes.Status426UpgradeRequired, "Bad WebSocket handshake", "Sec-WebSocket-Version must be 13") };
        if (key is null || !IsValidKey(key))
            return handshake with { Fault = new HeadFault(StatusCodes.Status400BadRequest, "Bad WebSocket handshake", "Sec-WebSocket-Key must be 16 bytes in base64") };
        return handshake;
    }

    /// <summary>The value when it appears once; null when absent (<paramref name="repeated"/> tells a repeat).</summary>
    private static string? Single(IReadOnlyList<string> values, out bool repeated)
    {
        repeated = values.Count > 1;
        return values.Count > 0 ? values[0] : null;
    }

    /// <summary>Why the upgrade cannot be accepted, or null when it can.</summary>
    public string? Problem => Fault?.Detail;

    /// <summary>The 101 response that completes the handshake, with the chosen subprotocol and the accepted extension (its header value), if any.</summary>
    public byte[] SwitchingProtocolsResponse(string? subProtocol = null, string? extensions = null)
    {
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Key + AcceptGuid)));
        var protocol = subProtocol is null ? "" : $"Sec-WebSocket-Protocol: {subProtocol}\r\n";
        var extension = extensions is null ? "" : $"Sec-WebSocket-Extensions: {extensions}\r\n";
        return Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n{protocol}{extension}\r\n");
    }

    /// <summary>An error response with an RFC 7807 problem body; the connection closes after it.</summary>
    public static byte[] ProblemResponse(int status, string title, string detail, string? extraHeader = null)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(new { type = "about:blank", title, status, detail });
        var bytes = Encoding.UTF8.GetByteCount(body);
        var extra = extraHeader is null ? "" : extraHeader + "\r\n";
        return Encoding.UTF8.GetBytes(
            $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\nContent-Type: application/problem+json\r\nContent-Length: {bytes}\r\n{extra}Connection: close\r\n\r\n{body}");
    }

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return Convert.TryFromBase64String(key, decoded, out var length) && length == 16;
    }
}
