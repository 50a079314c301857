using System.Diagnostics;

namespace Bench.LoadGen;

/// <summary>
/// One measured step: a contiguous range of publish sequence numbers [FirstSeq, FirstSeq+Capacity).
/// Per subscriber it keeps a bitmap of the sequence numbers seen (loss and duplicates), counters and
/// first/last arrival times. Every per-subscriber slot is written only by that subscriber's own
/// receive loop, so the hot path takes no lock and allocates nothing.
/// </summary>
public sealed class Step
{
    public readonly string Name;
    public readonly long FirstSeq;
    public readonly int Capacity;
    public readonly int Subscribers;
    private readonly int _words;
    private readonly ulong[] _bits;
    public readonly int[] Received;
    public readonly int[] Duplicates;
    public readonly long[] FirstArrival;
    public readonly long[] LastArrival;
    public readonly byte[] TopicOfSeq;
    public readonly byte[] Accepted;          // 1 once the POST for that offset answered 202
    public long Published, AcceptedCount, PostRejected, PostErrors;
    public readonly long[] AcceptedPerTopic = new long[Topics.All.Length];
    private readonly List<Histogram> _histograms = new();
    public readonly Histogram PostLatency = new();   // guarded by lock(PostLatency)
    public readonly Histogram PublisherLag = new();  // publisher thread only
    public long OutOfRange;

    public Step(string name, long firstSeq, int capacity, int subscribers)
    {
        Name = name;
        FirstSeq = firstSeq;
        Capacity = Math.Max(1, capacity);
        Subscribers = subscribers;
        _words = (Capacity + 63) / 64;
        _bits = new ulong[(long)_words * subscribers];
        Received = new int[subscribers];
        Duplicates = new int[subscribers];
        FirstArrival = new long[subscribers];
        LastArrival = new long[subscribers];
        TopicOfSeq = new byte[Capacity];
        Accepted = new byte[Capacity];
    }

    [ThreadStatic] private static Step? t_step;
    [ThreadStatic] private static Histogram? t_hist;

    /// <summary>Hot path: called from subscriber <paramref name="sub"/>'s receive loop.</summary>
    public void OnDelivery(int sub, long offset, long latencyMicros, long now)
    {
        if ((ulong)offset >= (ulong)Capacity || (uint)sub >= (uint)Subscribers)
        {
            Interlocked.Increment(ref OutOfRange);
            return;
        }
        ref var word = ref _bits[(long)sub * _words + (offset >> 6)];
        var mask = 1UL << (int)(offset & 63);
        if ((word & mask) != 0)
        {
            Duplicates[sub]++;
            return;
        }
        word |= mask;
        Received[sub]++;
        if (FirstArrival[sub] == 0) FirstArrival[sub] = now;
        LastArrival[sub] = now;
        if (!ReferenceEquals(t_step, this) || t_hist is null)
        {
            var h = new Histogram();
            lock (_histograms) _histograms.Add(h);
            t_hist = h;
            t_step = this;
        }
        t_hist.Record(latencyMicros);
    }

    public Histogram MergedLatency()
    {
        var all = new Histogram();
        lock (_histograms)
            foreach (var h in _histograms) all.Add(h);
        return all;
    }

    public long TotalReceived()
    {
        long s = 0;
        foreach (var r in Received) s += r;
        return s;
    }

    public long ExpectedFor(int topicMask)
    {
        long e = 0;
        for (var t = 0; t < AcceptedPerTopic.Length; t++)
            if ((topicMask & (1 << t)) != 0) e += Interlocked.Read(ref AcceptedPerTopic[t]);
        return e;
    }

    public void MarkAccepted(int offset)
    {
        Accepted[offset] = 1;
        Interlocked.Increment(ref AcceptedCount);
        Interlocked.Increment(ref AcceptedPerTopic[TopicOfSeq[offset]]);
    }
}

/// <summary>Maps a sequence number to its step. Steps are few (a ladder), so a copy-on-write array.</summary>
public sealed class Tracker
{
    private volatile Step[] _steps = [];
    private long _nextSeq = 1;
    public long Unmatched;

    public Step Begin(string name, int capacity, int subscribers)
    {
        var first = Interlocked.Read(ref _nextSeq);
        _nextSeq = first + capacity;
        var s = new Step(name, first, capacity, subscribers);
        var copy = new Step[_steps.Length + 1];
        _steps.CopyTo(copy, 0);
        copy[^1] = s;
        _steps = copy;
        return s;
    }

    public void OnUpdate(int sub, long seq, long sentAt, long now)
    {
        var steps = _steps;
        for (var i = steps.Length - 1; i >= 0; i--)
        {
            var s = steps[i];
            if (seq >= s.FirstSeq)
            {
                var micros = (now - sentAt) * 1_000_000 / Stopwatch.Frequency;
                s.OnDelivery(sub, seq - s.FirstSeq, micros, now);
                return;
            }
        }
        Interlocked.Increment(ref Unmatched);
    }
}

public static class Topics
{
    public static readonly string[] All = ["cameras", "weather", "airQuality", "accidents", "patterns", "congestion"];
}
