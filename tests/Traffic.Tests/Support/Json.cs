using System.Text.Json;

namespace Traffic.Tests.Support;

public static class Json
{
    public static string[] Strings(this JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static string Type(this JsonElement message) => message.GetProperty("type").GetString()!;

    /// <summary>An UPDATE or ALERT with a position on <paramref name="stream"/>: a topic's, or "all" (no topic).</summary>
    public static bool IsOnStream(this JsonElement message, string stream) =>
        message.TryGetProperty("offset", out _) &&
        (message.TryGetProperty("topic", out var topic) ? topic.GetString() == stream : stream == "all");

    public static long Offset(this JsonElement message) => message.GetProperty("offset").GetInt64();
}
