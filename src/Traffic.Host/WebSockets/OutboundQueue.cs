using Traffic.Actors.Protocol;

namespace Traffic.Host.WebSockets;

/// <summary>
/// The frames waiting for one socket, in order, with per-topic conflation of full-state UPDATEs:
/// a topic's UPDATE that still waits when a newer one of the same topic arrives is dropped, and the
/// newer one joins the tail. So at most one UPDATE per topic waits, and the order of everything
/// else (ALERTs, SNAPSHOT, acks, PONG, ERROR) is kept, as is the order of the frames of a topic
/// (the newer UPDATE never overtakes an ALERT published before it: per-topic positions stay
/// increasing, UPDATE positions may skip).
/// <para>
/// A ring of slots; a conflated UPDATE leaves a hole (null) that the reader skips, so replacing
/// costs no copy and no allocation. Holes are squeezed out when the ring is full of them.
/// Not thread-safe: the <see cref="OutboundWriter"/>'s lock guards it.
/// </para>
/// </summary>
internal sealed class OutboundQueue
{
    private ServerFrame?[] _slots = new ServerFrame?[8]; // capacity is a power of two
    private long _headSequence;                          // sequence number of the oldest slot
    private int _used;                                   // slots in use, holes included
    private readonly long[] _waitingUpdate = NewUpdateIndex(); // per topic: sequence of its waiting UPDATE, or -1

    /// <summary>Frames waiting (holes not counted).</summary>
    public int Count { get; private set; }

    /// <summary>Waiting frames that are never conflated (everything but topic UPDATEs): what the bounds apply to.</summary>
    public int KeptCount { get; private set; }

    /// <summary>The bytes of the <see cref="KeptCount"/> frames.</summary>
    public long KeptBytes { get; private set; }

    /// <summary>Appends a frame; returns the older UPDATE of the same topic it conflated away, if one was waiting.</summary>
    public ServerFrame? Enqueue(ServerFrame frame)
    {
        ServerFrame? replaced = null;
        if (frame.ConflationTopic is { } topic)
        {
            var waiting = _waitingUpdate[(int)topic];
            if (waiting >= 0)
            {
                ref var slot = ref Slot(waiting);
                replaced = slot;
                slot = null;
                Count--;
            }
        }
        else
        {
            KeptCount++;
            KeptBytes += frame.Utf8Json.Length;
        }

        if (_used == _slots.Length) MakeRoom();
        var sequence = _headSequence + _used;
        Slot(sequence) = frame;
        _used++;
        Count++;
        if (frame.ConflationTopic is { } t) _waitingUpdate[(int)t] = sequence;
        return replaced;
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
            if (taken is null) continue; // a conflated UPDATE's hole
            Count--;
            if (taken.ConflationTopic is { } topic) _waitingUpdate[(int)topic] = -1;
            else
            {
                KeptCount--;
                KeptBytes -= taken.Utf8Json.Length;
            }
            frame = taken;
            return true;
        }
        frame = null!;
        return false;
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
            if (frame.ConflationTopic is { } topic) _waitingUpdate[(int)topic] = kept;
            kept++;
        }
        _slots = next;
        _headSequence = 0;
        _used = kept;
    }

    private static long[] NewUpdateIndex()
    {
        var index = new long[Topics.Count];
        Array.Fill(index, -1L);
        return index;
    }
}
