using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// One stream's recent messages on this node, in the order the sequencer numbered them, bounded
/// by count and by age, so that a client that reconnects here can be sent exactly what it missed.
/// It knows how far back it is complete (<see cref="_floor"/>): a client whose last offset is at
/// least that is given every later message; an older one, or one of another epoch, cannot be.
/// A message whose <see cref="FrameSequence.PreviousOffset"/> is past the last one held here means
/// this node missed some (a partition, a node that joined late): what was held is then useless for
/// a resume and is dropped. A jump the sequencer made on taking over (previous offset at or below
/// the last held) loses nothing. Owned by the <see cref="TopicRegistryActor"/>: no locking.
/// </summary>
public sealed class StreamHistory(int capacity, TimeSpan timeToLive)
{
    /// <summary>A held message: its frame, when it arrived, and its place in the order of every stream's arrivals.</summary>
    public readonly record struct Entry(ServerFrame Frame, long Arrival, DateTimeOffset ReceivedAt)
    {
        public long Offset => Frame.Sequence!.Offset;
    }

    private readonly Queue<Entry> _entries = new();
    private string? _epoch;
    private long _head;
    private long _floor; // a client at an offset >= this gets every later message from _entries

    /// <summary>The position of the last message numbered on this stream, as far as this node knows; null before it knows the epoch.</summary>
    public StreamPosition? Head => _epoch is null ? null : new StreamPosition(_epoch, _head);

    /// <summary>The messages held now, oldest first (some may be past their age until the next trim).</summary>
    public IEnumerable<Entry> Held => _entries;

    /// <summary>Takes a published frame (numbered) into the history.</summary>
    public void Append(ServerFrame frame, long arrival, DateTimeOffset now)
    {
        var sequence = frame.Sequence!;
        if (sequence.Epoch != _epoch) Reset(sequence.Epoch, sequence.PreviousOffset);
        else if (sequence.PreviousOffset > _head) Reset(_epoch, sequence.PreviousOffset); // this node missed some
        _entries.Enqueue(new Entry(frame, arrival, now));
        _head = sequence.Offset;
        Trim(now);
    }

    /// <summary>
    /// The sequencer's word on where the stream stands (sent when it starts and every few seconds, in
    /// order with the frames): a new epoch, or a head past this node's, means this node missed messages.
    /// </summary>
    public void Announce(StreamPosition head)
    {
        if (head.Epoch != _epoch || head.Offset > _head) Reset(head.Epoch, head.Offset);
        _head = Math.Max(_head, head.Offset);
    }

    /// <summary>
    /// What a client at <paramref name="since"/> missed: the held messages after it (into <paramref name="missed"/>),
    /// or why it cannot be given them.
    /// </summary>
    public ResumeOutcome Resume(int stream, StreamPosition since, DateTimeOffset now, List<Entry> missed)
    {
        Trim(now);
        if (_epoch is null) return new ResumeOutcome(stream, false, ResumeOutcome.NoHistory, null, null);
        if (since.Epoch != _epoch) return new ResumeOutcome(stream, false, ResumeOutcome.EpochChanged, Head, null);
        if (since.Offset >= _head) return new ResumeOutcome(stream, true, null, Head, null); // nothing missed
        if (since.Offset < _floor) return new ResumeOutcome(stream, false, ResumeOutcome.TooOld, Head, null);
        long from = -1, to = -1;
        foreach (var entry in _entries)
        {
            if (entry.Offset <= since.Offset) continue;
            missed.Add(entry);
            if (from < 0) from = entry.Offset;
            to = entry.Offset;
        }
        return new ResumeOutcome(stream, true, null, Head, from < 0 ? null : (from, to));
    }

    private void Reset(string epoch, long floor)
    {
        _entries.Clear();
        _epoch = epoch;
        _floor = floor;
        _head = floor;
    }

    /// <summary>Drops what is over the count or the age; a client must then be past the oldest dropped offset.</summary>
    private void Trim(DateTimeOffset now)
    {
        var oldest = now - timeToLive;
        while (_entries.Count > 0 && (_entries.Count > capacity || _entries.Peek().ReceivedAt < oldest))
            _floor = _entries.Dequeue().Offset;
    }
}
