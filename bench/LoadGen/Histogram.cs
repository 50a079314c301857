namespace Bench.LoadGen;

/// <summary>
/// Latency histogram in microseconds with fixed log-linear buckets (HdrHistogram-like):
/// values under 128 us are exact, above that each power of two is split into 64 buckets, so a
/// reported percentile is at most 1.6 % above the true value. Range: up to 2^40 us.
/// Not thread-safe: each receiving thread records into its own instance and they are merged.
/// </summary>
public sealed class Histogram
{
    private const int Linear = 128;       // exact below this
    private const int SubBits = 6;        // 64 sub-buckets per power of two
    private const int SubCount = 1 << SubBits;
    private const int MaxExp = 40;
    public const int BucketCount = Linear + (MaxExp - 7 + 1) * SubCount;

    private readonly long[] _counts = new long[BucketCount];
    public long Count { get; private set; }
    public long Max { get; private set; }
    public long Min { get; private set; } = long.MaxValue;
    public double Sum { get; private set; }

    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        _counts[Index(micros)]++;
        Count++;
        Sum += micros;
        if (micros > Max) Max = micros;
        if (micros < Min) Min = micros;
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < BucketCount; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        Sum += other.Sum;
        if (other.Max > Max) Max = other.Max;
        if (other.Min < Min) Min = other.Min;
    }

    /// <summary>The bucket counts (to pass a histogram to another process: scale-out's workers).</summary>
    public long[] RawCounts => _counts;

    /// <summary>Adds a histogram read back from another process (RawCounts, Count, Sum, Min, Max).</summary>
    public void AddRaw(long[] counts, long count, double sum, long min, long max)
    {
        for (var i = 0; i < BucketCount && i < counts.Length; i++) _counts[i] += counts[i];
        Count += count;
        Sum += sum;
        if (max > Max) Max = max;
        if (count > 0 && min < Min) Min = min;
    }

    public double Mean => Count == 0 ? 0 : Sum / Count;

    /// <summary>Value at quantile q (0..1): the upper edge of the bucket holding it, capped by the exact max.</summary>
    public long Quantile(double q)
    {
        if (Count == 0) return 0;
        var rank = (long)Math.Ceiling(q * Count);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Min(UpperEdge(i), Max);
        }
        return Max;
    }

    private static int Index(long v)
    {
        if (v < Linear) return (int)v;
        var exp = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)v); // >= 7
        if (exp > MaxExp) return BucketCount - 1;
        var sub = (int)(v >> (exp - SubBits)) - SubCount;                          // 0..63
        return Linear + (exp - 7) * SubCount + sub;
    }

    private static long UpperEdge(int index)
    {
        if (index < Linear) return index;
        var k = index - Linear;
        var exp = k / SubCount + 7;
        var sub = k % SubCount + SubCount;
        return ((long)(sub + 1) << (exp - SubBits)) - 1;
    }
}
