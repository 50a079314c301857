using Akka.Actor;
using Traffic.Actors.Connections;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>Messages of <see cref="TopicRegistryActor"/>.</summary>
public static class RegistryCommands
{
    /// <summary>
    /// Sets a connection's whole topic set (registering it on first use). <paramref name="ThenSend"/>,
    /// if given, is queued to the socket right after the change takes effect, so a client that reads
    /// it (a SNAPSHOT, a SUBSCRIBED ack) is guaranteed every later publish of its topics.
    /// </summary>
    public sealed record SetSubscriptions(IActorRef Connection, IClientSocket Socket, TopicSet Topics, ServerFrame? ThenSend);

    /// <summary>Delivers a frame to every subscriber of one topic.</summary>
    public sealed record PublishToTopic(Topic Topic, ServerFrame Frame);

    /// <summary>Delivers a frame to every connected client, whatever its topics (the seed's broadcast).</summary>
    public sealed record PublishToAll(ServerFrame Frame);

    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <summary>The seed's getClientCount and getTopicSubscribers, for every topic.</summary>
    public sealed record Stats(int Clients, IReadOnlyDictionary<Topic, int> Subscribers);
}
