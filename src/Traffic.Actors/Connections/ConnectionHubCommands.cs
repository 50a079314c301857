using Akka;
using Traffic.Actors.Protocol;
using Traffic.Actors.Transport;

namespace Traffic.Actors.Connections;

/// <summary>Messages of <see cref="ConnectionHubActor"/>.</summary>
public static class ConnectionHubCommands
{
    /// <summary>A new socket to serve, subscribed to <paramref name="Topics"/> to begin with, resuming from <paramref name="Since"/> if given.</summary>
    public sealed record Accept(IClientSocket Socket, TopicSet Topics, ResumeRequest? Since = null);

    /// <summary>
    /// The service is shutting down: close every connection, and every one that still arrives, with
    /// this code. <see cref="Instance"/> (a single node) is 1001; a cluster node that leaves uses
    /// 1012 (service restart: reconnect, another node serves you). Answered with <see cref="Done"/>
    /// once every connection has ended (its socket closed), or after the hub's close bound.
    /// </summary>
    public sealed record CloseAll(int Code, string Reason)
    {
        public static readonly CloseAll Instance = new(CloseCodes.GoingAway, "server shutting down");
    }
}
