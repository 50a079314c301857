using Traffic.Actors.Protocol;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The frames waiting for one socket, in order, able to drop UPDATEs that a newer UPDATE of the
/// same topic supersedes (conflation; the <see cref="OutboundWriter"/> decides when). Dropping
/// never reorders: the frames that stay leave in the order they came, so the frames of a topic
/// stay in publish order (per-topic positions increase; UPDATE positions may skip).
/// <para>
/// A ring of slots; a dropped UPDATE leaves a hole (null) that the reader skips, so dropping costs
/// no copy and no allocation. Holes are squeezed out when the ring is full of them.
/// Not thread-safe: the writer's lock guards it.
/// </para>
/// </summary>
internal sealed class OutboundQueue
{
    private const int InitialCapacity = 8;
    // A drained ring larger than this is given back: a socket that once fell behind (up to
    // OUTBOUND_QUEUE_LIMIT slots) should not keep that much for good. Up to it the ring stays, so a
    // socket that drains after every burst does not reallocate each time.
    private const int KeptCapacity = 64;

    private ServerFrame?[] _slots = new ServerFrame?[InitialCapacity]; // capacity is a power of two
    private long _headSequence;                          // sequence number of the oldest slot
    private int _used;                                   // slots in use, holes included
    private readonly int[] _updates = new int[Topics.Count];           // per topic: UPDATEs waiting
    private readonly long[] _newestUpdate = new long[Topics.Count];    // per topic: sequence of the newest waiting one

    /// <summary>Slots in the ring (for the specs: how much a socket holds).</summary>
    internal int Capacity => _slots.Length;

    /// <summary>Frames waiting (holes not counted).</summary>
    public int Count { get; private set; }

    /// <summary>The bytes of the waiting frames.</summary>
    public long Bytes { get; private set; }

    /// <summary>Waiting frames that are never conflated (everything but topic UPDATEs).</summary>
    public int KeptCount { get; private set; }

    /// <summary>The bytes of the <see cref="KeptCount"/> frames.</summary>
    public long KeptBytes { get; private set; }

    public void Enqueue(ServerFrame frame)
    {
        if (_used == _slots.Length) MakeRoom();
        var sequence = _headSequence + _used;
        Slot(sequence) = frame;
        _used++;
        Count++;
        Bytes += frame.Utf8Json.Length;
        if (frame.ConflationTopic is { } topic)
        {
            _updates[(int)topic]++;
            _newestUpdate[(int)topic] = sequence;
        }
        else
        {
            KeptCount++;
            KeptBytes += frame.Utf8Json.Length;
        }
    }

    /// <summary>The length of the oldest waiting frame's bytes, or false when none waits.</summary>
    public bool TryPeekLength(out int length)
    {
        while (_used > 0)
        {
            if (Slot(_headSequence) is { } frame)
            {
                length = frame.Utf8Json.Length;
                return true;
            }
            _headSequence++; // a dropped UPDATE's hole at the head: gone for good
            _used--;
        }
        length = 0;
        return false;
    }

    /// <summary>The oldest waiting frame, or false when none waits.</summary>
    public bool TryDequeue(out ServerFrame frame)
    {
        while (_used > 0)
        {
            ref var slot = ref Slot(_headSequence);
            var taken = slot;
            slot = null;
            _headSequence++;
            _used--;
            if (taken is null) continue; // a dropped UPDATE's hole
            Forget(taken);
            if (_used == 0 && _slots.Length > KeptCapacity) ShrinkDrained();
            frame = taken;
            return true;
        }
        frame = null!;
        return false;
    }

    /// <summary>Drops every waiting UPDATE of <paramref name="topic"/> (a newer one is about to be queued).</summary>
    public void DropUpdatesOf(Topic topic, Action<ServerFrame>? dropped)
    {
        var waiting = _updates[(int)topic];
        if (waiting == 0) return;
        if (waiting == 1) { Drop(_newestUpdate[(int)topic], dropped); return; }
        for (var sequence = _headSequence + _used - 1; sequence >= _headSequence && _updates[(int)topic] > 0; sequence--)
            if (Slot(sequence) is { ConflationTopic: { } t } && t == topic) Drop(sequence, dropped);
    }

    /// <summary>Drops every waiting UPDATE that a newer waiting UPDATE of its topic supersedes.</summary>
    public void DropSupersededUpdates(Action<ServerFrame>? dropped)
    {
        var superseded = false;
        foreach (var count in _updates) superseded |= count > 1;
        if (!superseded) return;
        for (var sequence = _headSequence + _used - 1; sequence >= _headSequence; sequence--)
            if (Slot(sequence) is { ConflationTopic: { } t } && sequence != _newestUpdate[(int)t]) Drop(sequence, dropped);
    }

    private void Drop(long sequence, Action<ServerFrame>? dropped)
    {
        ref var slot = ref Slot(sequence);
        var frame = slot!;
        slot = null;
        Forget(frame);
        dropped?.Invoke(frame);
    }

    /// <summary>A frame leaves the queue (sent or dropped): its counts go.</summary>
    private void Forget(ServerFrame frame)
    {
        Count--;
        Bytes -= frame.Utf8Json.Length;
        if (frame.ConflationTopic is { } topic) _updates[(int)topic]--; // the newest index stays valid while any waits
        else
        {
            KeptCount--;
            KeptBytes -= frame.Utf8Json.Length;
        }
    }

    private void ShrinkDrained()
    {
        _slots = new ServerFrame?[InitialCapacity];
        _headSequence = 0;
    }

    private ref ServerFrame? Slot(long sequence) => ref _slots[(int)(sequence & (_slots.Length - 1))];

    /// <summary>Squeezes the holes out when at least half the ring is holes; otherwise doubles it.</summary>
    private void MakeRoom()
    {
        var next = Count * 2 <= _slots.Length ? new ServerFrame?[_slots.Length] : new ServerFrame?[_slots.Length * 2];
        var kept = 0;
        for (var i = 0; i < _used; i++)
        {
            if (Slot(_headSequence + i) is not { } frame) continue;
            next[kept] = frame;
            if (frame.ConflationTopic is { } topic) _newestUpdate[(int)topic] = kept; // in order: the last one is the newest
            kept++;
        }
        _slots = next;
        _headSequence = 0;
        _used = kept;
    }
}
