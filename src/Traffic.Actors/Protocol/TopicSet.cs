namespace Traffic.Actors.Protocol;

/// <summary>A set of topics as a bit mask: cheap to copy, compare and send between actors.</summary>
public readonly record struct TopicSet(byte Mask)
{
    public static readonly TopicSet None = new(0);
    public static readonly TopicSet All = new((byte)((1 << Topics.Count) - 1));

    public static TopicSet Of(params Topic[] topics)
    {
        byte mask = 0;
        foreach (var topic in topics) mask |= Bit(topic);
        return new TopicSet(mask);
    }

    public bool Contains(Topic topic) => (Mask & Bit(topic)) != 0;
    public TopicSet Union(TopicSet other) => new((byte)(Mask | other.Mask));
    public TopicSet Except(TopicSet other) => new((byte)(Mask & ~other.Mask));

    public IEnumerable<Topic> Members()
    {
        foreach (var topic in Topics.Every)
            if (Contains(topic)) yield return topic;
    }

    public IEnumerable<string> WireNames() => Members().Select(t => t.WireName());

    public override string ToString() => $"[{string.Join(",", WireNames())}]";

    private static byte Bit(Topic topic) => (byte)(1 << (int)topic);
}
