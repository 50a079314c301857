namespace Traffic.Host.WebSockets;

/// <summary>
/// The WebSocket subprotocol (Sec-WebSocket-Protocol) this server speaks: <c>traffic.v1</c>, the
/// protocol in docs/protocol.md. Offering none is fine (browsers' <c>new WebSocket(url)</c>); a
/// client that offers it gets it back; one that offers only others is refused with 400 naming it,
/// rather than accepted without the header, which such clients treat as a failure anyway.
/// </summary>
public static class TrafficSubProtocol
{
    public const string V1 = "traffic.v1";

    /// <summary>True when the offer can be served; <paramref name="selected"/> is what to answer (null: no header).</summary>
    public static bool TryChoose(IEnumerable<string> offered, out string? selected, out string? problem)
    {
        var names = offered.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        selected = null;
        problem = null;
        if (names.Count == 0) return true;
        if (names.Contains(V1, StringComparer.Ordinal)) { selected = V1; return true; }
        var shown = string.Join(", ", names.Take(5).Select(n => n.Length > 40 ? n[..40] + "..." : n));
        problem = $"Sec-WebSocket-Protocol offers {shown}; this server speaks {V1} (or offer none).";
        return false;
    }
}
