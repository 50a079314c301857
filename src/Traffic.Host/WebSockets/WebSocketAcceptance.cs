using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Traffic.Actors.Protocol;
using Traffic.Host.Admission;

namespace Traffic.Host.WebSockets;

/// <summary>
/// Whether a WebSocket handshake is accepted, and with what: the one validator of both ways a
/// WebSocket arrives (<see cref="DirectWebSocketMiddleware"/> at the connection,
/// <see cref="WebSocketEndpoint"/> in the HTTP pipeline), so a fault gets the same answer on both.
/// In order: the RFC 6455 checks of the head (<see cref="WebSocketHandshake.Fault"/>), the
/// subprotocol, the query (topics, since, deltas), admission (origin, host, connection limits),
/// then permessage-deflate when the path offers it.
/// </summary>
public static class WebSocketAcceptance
{
    public abstract record Outcome;

    /// <summary>Refused with this problem; <paramref name="Logged"/>: admission has logged it already.</summary>
    public sealed record Refused(int Status, string Title, string Detail, string? ExtraHeader = null, bool Logged = false) : Outcome;

    /// <summary>Accepted: the chosen subprotocol and compression, what the client asked for, and its place in the connection count.</summary>
    public sealed record Accepted(string? SubProtocol, ConnectRequest Request, ConnectionLimiter.Lease Lease,
        PerMessageDeflateNegotiation? Deflate) : Outcome;

    /// <param name="peer">The TCP peer's address.</param>
    /// <param name="forwardedResolved">True when ASP.NET Core's forwarded-headers middleware has already put a trusted proxy's client address in <paramref name="peer"/>.</param>
    /// <param name="offerCompression">Whether this path negotiates permessage-deflate (the direct path, when WS_COMPRESSION is on).</param>
    public static Outcome Check(WebSocketHandshake handshake, WebSocketAdmission admission, IPAddress? peer, bool forwardedResolved, bool offerCompression)
    {
        if (handshake.Fault is { } fault)
            return new Refused(fault.Status, fault.Title, fault.Detail, fault.Status == StatusCodes.Status426UpgradeRequired ? "Sec-WebSocket-Version: 13" : null);
        if (!TrafficSubProtocol.TryChoose(handshake.SubProtocols, out var subProtocol, out var protocolProblem))
            return new Refused(StatusCodes.Status400BadRequest, "Unsupported subprotocol", protocolProblem!);
        var query = QueryHelpers.ParseQuery(handshake.Query);
        if (!ConnectRequest.TryParse(name => query.TryGetValue(name, out var value) ? value.ToString() : null, out var request, out var problem))
            return new Refused(StatusCodes.Status400BadRequest, problem.Title, problem.Detail);
        var decision = admission.Admit(peer, forwardedResolved ? null : handshake.ForwardedFor, handshake.Origin, handshake.Host, alreadyResolved: forwardedResolved);
        if (decision.Refusal is { } refusal)
            return new Refused(refusal.Status, refusal.Title, refusal.Detail, refusal.RetryAfterHeader, Logged: true);
        // An offer that cannot be honoured is declined, never refused (RFC 7692 7.1).
        var deflate = offerCompression ? PerMessageDeflateNegotiation.Choose(handshake.Extensions) : null;
        return new Accepted(subProtocol, request, decision.Lease!, deflate);
    }
}
