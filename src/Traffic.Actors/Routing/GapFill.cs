using Akka.Actor;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// One stream of a <see cref="TopicRegistryActor"/> being filled from the journal: the offsets this
/// node missed, the <see cref="JournalGapReaderActor"/> reading them, and the stream's publishes
/// that arrived meanwhile, held (in order) to be delivered after the missed ones.
/// </summary>
public sealed class GapFill(string epoch, long from, long to, IActorRef reader, StreamPosition? announced)
{
    /// <summary>How long a fill may take before the stream's subscribers are told of the gap instead.</summary>
    public static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(10);

    /// <summary>Publishes held at most while a fill runs (past it, the gap is told instead: a bound on memory).</summary>
    public const int MaxHeld = 10_000;

    public string Epoch { get; } = epoch;
    public long From { get; } = from;
    public long To { get; } = to;
    public IActorRef Reader { get; } = reader;

    /// <summary>The announced head that showed the gap, if an announcement did (a publish otherwise).</summary>
    public StreamPosition? Announced { get; } = announced;

    /// <summary>The stream's publishes (<see cref="RegistryCommands.PublishToTopic"/>, <see cref="RegistryCommands.PublishToAll"/>) that came during the fill.</summary>
    public List<object> Held { get; } = [];

    /// <summary>Whether <paramref name="entries"/> are exactly the missed offsets, each once, in order.</summary>
    public bool IsCompletedBy(IReadOnlyList<StreamJournal.Entry>? entries)
    {
        if (entries is null || entries.Count != To - From + 1) return false;
        for (var i = 0; i < entries.Count; i++)
            if (entries[i].Frame.Sequence is not { } sequence || sequence.Epoch != Epoch || sequence.Offset != From + i) return false;
        return true;
    }

    /// <summary>The fill's timer: the reader it waited for took longer than <see cref="ReadWait"/>.</summary>
    public sealed record TimedOut(int Stream, IActorRef Reader);
}
