using Traffic.Actors.Protocol;

namespace Traffic.Actors.Routing;

/// <summary>
/// One stream's recent messages on this node, in the order the sequencer numbered them, bounded
/// by count, by bytes and by age, so that a client that reconnects here can be sent exactly what it missed.
/// It knows how far back it is complete (<see cref="_floor"/>): a client whose last offset is at
/// least that is given every later message; an older one, or one of another epoch, cannot be.
/// A message whose <see cref="FrameSequence.PreviousOffset"/> is past the last one held here means
/// this node missed some (a partition, a node that joined late): what was held is then useless for
/// a resume and is dropped. A jump the sequencer made on taking over (previous offset at or below
/// the last held) loses nothing. Owned by the <see cref="TopicRegistryActor"/>: no locking.
/// </summary>
public sealed class StreamHistory(int capacity, TimeSpan timeToLive, long maxBytes = HistorySettings.DefaultBytes)
{
    /// <summary>A held message: its frame, when it arrived, and its place in the order of every stream's arrivals.</summary>
    public readonly record struct Entry(ServerFrame Frame, long Arrival, DateTimeOffset ReceivedAt)
    {
        public long Offset => Frame.Sequence!.Offset;
    }

    private Queue<Entry> _entries = new();
    private string? _epoch;
    private long _head;
    private long _floor; // a client at an offset >= this gets every later message from _entries
    private long _bytes; // of the frames held (and their deltas)

    /// <summary>The position of the last message numbered on this stream, as far as this node knows; null before it knows the epoch.</summary>
    public StreamPosition? Head => _epoch is null ? null : new StreamPosition(_epoch, _head);

    /// <summary>The messages held now, oldest first (some may be past their age until the next trim).</summary>
    public IEnumerable<Entry> Held => _entries;

    /// <summary>Takes a published frame (numbered) into the history.</summary>
    /// <returns>The offsets this node missed just before it, in the same epoch (a gap), or null.</returns>
    public (long From, long To)? Append(ServerFrame frame, long arrival, DateTimeOffset now)
    {
        var sequence = frame.Sequence!;
        (long, long)? gap = null;
        if (sequence.Epoch != _epoch) Reset(sequence.Epoch, sequence.PreviousOffset);
        else if (sequence.PreviousOffset > _head) // this node missed some
        {
            gap = (_head + 1, sequence.PreviousOffset);
            Reset(_epoch, sequence.PreviousOffset);
        }
        _entries.Enqueue(new Entry(frame, arrival, now));
        _bytes += SizeOf(frame);
        _head = sequence.Offset;
        Trim(now);
        return gap;
    }

    /// <summary>The offsets this node missed just before <paramref name="sequence"/> (same epoch), or null; changes nothing.</summary>
    public (long From, long To)? GapBefore(FrameSequence sequence) =>
        sequence.Epoch == _epoch && sequence.PreviousOffset > _head ? (_head + 1, sequence.PreviousOffset) : null;

    /// <summary>The offsets this node missed up to an announced <paramref name="head"/> (same epoch), or null; changes nothing.</summary>
    public (long From, long To)? GapUpTo(StreamPosition head) =>
        head.Epoch == _epoch && head.Offset > _head ? (_head + 1, head.Offset) : null;

    /// <summary>
    /// Takes what the journal kept of this stream (oldest first, with when each was numbered and an
    /// arrival before any live one). A node that has heard nothing of the stream takes it all, then
    /// the <paramref name="head"/>. One whose live messages came first (a cluster node that started
    /// while others published) puts the older ones in front of what it holds, if they join up with it
    /// (the last restored is the one just before the first held); otherwise it keeps what it has.
    /// </summary>
    public void Restore(IEnumerable<(ServerFrame Frame, DateTimeOffset At, long Arrival)> entries, StreamPosition? head, DateTimeOffset now)
    {
        var restored = entries.ToList();
        if (_epoch is null)
        {
            foreach (var (frame, at, arrival) in restored) Append(frame, arrival, at);
            if (head is { } known) Announce(known);
            Trim(now);
            return;
        }
        var older = restored.Where(e => e.Frame.Sequence!.Epoch == _epoch && e.Frame.Sequence.Offset <= _floor).ToList();
        if (older.Count == 0 || older[^1].Frame.Sequence!.Offset != _floor) return;
        var joined = new Queue<Entry>(older.Select(e => new Entry(e.Frame, e.Arrival, e.At)));
        foreach (var held in _entries) joined.Enqueue(held);
        _entries = joined;
        _bytes += older.Sum(e => SizeOf(e.Frame));
        _floor = older[0].Frame.Sequence!.PreviousOffset;
        Trim(now);
    }

    /// <summary>
    /// The sequencer's word on where the stream stands (sent when it starts and every few seconds, in
    /// order with the frames): a new epoch, or a head past this node's, means this node missed messages.
    /// </summary>
    /// <returns>The offsets this node missed (the head is past its own, same epoch), or null.</returns>
    public (long From, long To)? Announce(StreamPosition head)
    {
        (long, long)? gap = head.Epoch == _epoch && head.Offset > _head ? (_head + 1, head.Offset) : null;
        if (head.Epoch != _epoch || head.Offset > _head) Reset(head.Epoch, head.Offset);
        _head = Math.Max(_head, head.Offset);
        return gap;
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
        return Replay(stream, since, _entries, missed);
    }

    /// <summary>
    /// The offsets a client at <paramref name="since"/> missed that are older than what is held here
    /// (to be read from the journal), or null: none are, or the position cannot be resumed at all.
    /// </summary>
    public (long From, long To)? OlderThanHeld(StreamPosition since) =>
        _epoch is not null && since.Epoch == _epoch && since.Offset < _floor && since.Offset < _head ? (since.Offset + 1, _floor) : null;

    /// <summary>
    /// <see cref="Resume"/> for a client older than what is held, with the <paramref name="older"/> messages
    /// read from the journal (oldest first): recovered when they join up with what is held now.
    /// </summary>
    public ResumeOutcome ResumeWith(int stream, StreamPosition since, DateTimeOffset now, List<Entry> missed, IReadOnlyList<Entry> older)
    {
        Trim(now);
        if (OlderThanHeld(since) is not { } needed || older.Count != needed.To - needed.From + 1 ||
            older[0].Offset != needed.From || older[^1].Offset != needed.To)
            return Resume(stream, since, now, missed);
        return Replay(stream, since, older.Concat(_entries), missed);
    }

    /// <summary>Every ALERT after <paramref name="since"/>, and of a topic's UPDATEs (each its whole list) only the newest: it supersedes the others.</summary>
    private ResumeOutcome Replay(int stream, StreamPosition since, IEnumerable<Entry> entries, List<Entry> missed)
    {
        var newestUpdate = -1L;
        foreach (var entry in entries)
            if (entry.Offset > since.Offset && entry.Frame.ConflationTopic is not null) newestUpdate = entry.Offset;
        long from = -1, to = -1;
        foreach (var entry in entries)
        {
            if (entry.Offset <= since.Offset) continue;
            if (from < 0) from = entry.Offset;
            to = entry.Offset;
            if (entry.Frame.ConflationTopic is not null && entry.Offset != newestUpdate) continue;
            missed.Add(entry);
        }
        return new ResumeOutcome(stream, true, null, Head, from < 0 ? null : (from, to));
    }

    private void Reset(string epoch, long floor)
    {
        _entries.Clear();
        _bytes = 0;
        _epoch = epoch;
        _floor = floor;
        _head = floor;
    }

    /// <summary>Drops what is over the count, the bytes or the age; a client must then be past the oldest dropped offset.</summary>
    private void Trim(DateTimeOffset now)
    {
        var oldest = now - timeToLive;
        while (_entries.Count > 0 && (_entries.Count > capacity || _bytes > maxBytes || _entries.Peek().ReceivedAt < oldest))
        {
            var dropped = _entries.Dequeue();
            _bytes -= SizeOf(dropped.Frame);
            _floor = dropped.Offset;
        }
    }

    private static long SizeOf(ServerFrame frame) => frame.Utf8Json.Length + (frame.Delta?.Utf8Json.Length ?? 0);
}
