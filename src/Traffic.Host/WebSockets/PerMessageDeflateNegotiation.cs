using System.Net.WebSockets;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The server's side of negotiating permessage-deflate (RFC 7692 section 5 and 7.1) from a client's
/// Sec-WebSocket-Extensions offers. The answer always carries <c>server_no_context_takeover</c>:
/// every message the server sends is deflated on its own, so one compressed frame is valid on every
/// socket and a publish is compressed once for all subscribers (<see cref="FrameCompressor"/>). It
/// also carries <c>client_no_context_takeover</c> (RFC 7692 7.1.1.2 lets a server add it): the
/// server then keeps no inflate window between a client's messages, so an idle connection holds no
/// zlib state. An offer whose parameters are unknown, repeated or invalid, or which asks for a server
/// window under 15 bits (the shared frames are made with 15), is declined (7.1: the server MUST
/// decline it); the next acceptable offer is taken, or none, and the connection goes on uncompressed.
/// </summary>
public sealed record PerMessageDeflateNegotiation(string ResponseHeaderValue, WebSocketDeflateOptions Options)
{
    public const string ExtensionName = "permessage-deflate";

    /// <summary>The first acceptable permessage-deflate offer among <paramref name="headerValues"/> (each a Sec-WebSocket-Extensions header), or null.</summary>
    public static PerMessageDeflateNegotiation? Choose(IEnumerable<string> headerValues)
    {
        foreach (var value in headerValues)
        foreach (var offer in SplitOutsideQuotes(value, ','))
            if (TryAccept(offer) is { } accepted) return accepted;
        return null;
    }

    private static PerMessageDeflateNegotiation? TryAccept(string offer)
    {
        var parts = SplitOutsideQuotes(offer, ';');
        if (parts.Count == 0 || !parts[0].Trim().Equals(ExtensionName, StringComparison.OrdinalIgnoreCase)) return null;

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var answer = $"{ExtensionName}; server_no_context_takeover; client_no_context_takeover";
        foreach (var part in parts.Skip(1))
        {
            var equals = part.IndexOf('=');
            var name = (equals < 0 ? part : part[..equals]).Trim();
            var rawValue = equals < 0 ? null : Unquote(part[(equals + 1)..].Trim());
            if (name.Length == 0 || !seen.Add(name)) return null; // an empty or repeated parameter: declined
            switch (name.ToLowerInvariant())
            {
                case "server_no_context_takeover" or "client_no_context_takeover":
                    if (rawValue is not null) return null; // these take no value
                    break;
                case "server_max_window_bits":
                    // The shared frames are deflated with a 15-bit window: an offer asking for less cannot be honoured.
                    if (WindowBits(rawValue) != 15) return null;
                    answer += "; server_max_window_bits=15";
                    break;
                case "client_max_window_bits":
                    // Without a value: the client may be told a limit. With one (8..15): the client's own limit.
                    // Our inflater takes any window up to 15 bits, so the answer leaves it out (7.1.2.2).
                    if (rawValue is not null && WindowBits(rawValue) is null) return null;
                    break;
                default:
                    return null; // a parameter RFC 7692 does not define for an offer
            }
        }
        return new PerMessageDeflateNegotiation(answer, new WebSocketDeflateOptions
        {
            ServerContextTakeover = false,
            ClientContextTakeover = false,
            ServerMaxWindowBits = 15,
            ClientMaxWindowBits = 15,
        });
    }

    /// <summary>8..15 (RFC 7692 7.1.2: 1*DIGIT, no leading zero), else null.</summary>
    private static int? WindowBits(string? value) =>
        value is { Length: 1 or 2 } && value[0] != '0' && value.All(char.IsAsciiDigit) && int.Parse(value) is >= 8 and <= 15 and var bits
            ? bits : null;

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;

    /// <summary>Splits on <paramref name="separator"/> outside double quotes (RFC 9110 quoted-string); empty items dropped.</summary>
    private static List<string> SplitOutsideQuotes(string value, char separator)
    {
        var items = new List<string>();
        var quoted = false;
        var start = 0;
        for (var i = 0; i <= value.Length; i++)
        {
            if (i < value.Length && value[i] == '"') quoted = !quoted;
            if (i < value.Length && (value[i] != separator || quoted)) continue;
            var item = value[start..i].Trim();
            if (item.Length > 0) items.Add(item);
            start = i + 1;
        }
        return items;
    }
}
