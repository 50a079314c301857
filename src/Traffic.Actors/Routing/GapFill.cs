using Akka.Actor;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// One stream of a <see cref="TopicRegistryActor"/> being filled from the journal: the offsets this
/// node missed, the <see cref="JournalRangeReaderActor"/> reading them, and the stream's publishes
/// that arrived meanwhile, held (in order) to be delivered after the missed ones.
/// </summary>
public sealed class GapFill(JournalRange missed, IActorRef reader, StreamPosition? announced)
{
    /// <summary>How long a fill may take before the stream's subscribers are told of the gap instead.</summary>
    public static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(10);

    /// <summary>Publishes held at most while a fill runs (past it, the gap is told instead: a bound on memory).</summary>
    public const int MaxHeld = 10_000;

    public JournalRange Missed { get; } = missed;
    public IActorRef Reader { get; } = reader;

    /// <summary>The announced head that showed the gap, if an announcement did (a publish otherwise).</summary>
    public StreamPosition? Announced { get; } = announced;

    /// <summary>The stream's publishes (<see cref="RegistryCommands.PublishToTopic"/>, <see cref="RegistryCommands.PublishToAll"/>) that came during the fill.</summary>
    public List<object> Held { get; } = [];

    /// <summary>The fill's timer: the reader it waited for took longer than <see cref="ReadWait"/>.</summary>
    public sealed record TimedOut(int Stream, IActorRef Reader);
}
