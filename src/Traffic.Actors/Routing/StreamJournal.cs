using Akka.Actor;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// Messages and events of <see cref="StreamJournalActor"/>: the journal is the streams' history
/// (docs/architecture.md, "Persistence").
/// </summary>
public static class StreamJournal
{
    /// <summary>The persistence id of the one journal every stream shares (its events are in numbering order).</summary>
    public const string PersistenceId = "traffic-streams";

    /// <summary>
    /// The event: one numbered UPDATE or ALERT, as delivered (the frame's bytes with its position),
    /// to <paramref name="Topic"/> (null: to everyone), numbered at <paramref name="AtUnixMs"/>.
    /// </summary>
    public sealed record Entry(long AtUnixMs, Topic? Topic, ServerFrame Frame)
    {
        public int Stream => Streams.Of(Topic);

        public DateTimeOffset At => DateTimeOffset.FromUnixTimeMilliseconds(AtUnixMs);
    }

    /// <summary>
    /// Keep <paramref name="Entry"/>, then deliver it and tell <paramref name="AckTo"/> <paramref name="Ack"/>
    /// (if given): nothing is delivered or acknowledged before it is written.
    /// </summary>
    public sealed record Write(Entry Entry, object? Ack, IActorRef? AckTo);

    /// <summary>Tell <paramref name="To"/> <paramref name="Ack"/> once everything sent before this is written.</summary>
    public sealed record AckWhenWritten(object Ack, IActorRef To);

    /// <summary>
    /// Write where every stream stands (a heads mark): the sequencer sends it when it starts, so that a
    /// stream given a new epoch keeps it across a restart even before its first message.
    /// </summary>
    public sealed record MarkHeads(IReadOnlyList<StreamPosition?> Heads);

    /// <summary>The journal could not write or read (<paramref name="Reason"/>) and stops; its parent logs it, once per outage.</summary>
    public sealed record Failed(string Reason);

    /// <summary>The journal has recovered: where each stream stood (by stream index; null: never numbered).</summary>
    public sealed record Recovered(IReadOnlyList<StreamPosition?> Heads);
}
