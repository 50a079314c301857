namespace Traffic.Actors.Protocol;

/// <summary>The data topics of the original design's topic table. `all` is not a topic: it is every one of them.</summary>
public enum Topic : byte
{
    Cameras = 0,
    Weather = 1,
    AirQuality = 2,
    Accidents = 3,
    Patterns = 4,
    Congestion = 5,
}

public static class Topics
{
    public const string AllName = "all";

    /// <summary>Every topic, in wire order (the order of the SNAPSHOT's data object).</summary>
    public static readonly Topic[] Every = Enum.GetValues<Topic>();

    public static int Count => Every.Length;

    private static readonly string[] Names = ["cameras", "weather", "airQuality", "accidents", "patterns", "congestion"];

    public static string WireName(this Topic topic) => Names[(int)topic];

    /// <summary>Parses a wire name exactly as the original protocol spells it (case-sensitive: `airQuality`).</summary>
    public static bool TryParse(string? name, out Topic topic)
    {
        var index = name is null ? -1 : Array.IndexOf(Names, name);
        topic = index < 0 ? default : (Topic)index;
        return index >= 0;
    }
}
