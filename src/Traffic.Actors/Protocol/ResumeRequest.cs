using System.Globalization;
using System.Text.Json;

namespace Traffic.Actors.Protocol;

/// <summary>
/// A client's "I last saw these positions": per stream, the position of the last message it has.
/// Given in the URL (<c>?since=cameras:k3x9ab12:41,all:k3x9ab12:2</c>) or in a subscribe action
/// (<c>"since":{"cameras":{"epoch":"k3x9ab12","offset":41}}</c>); see docs/protocol.md "Resume".
/// </summary>
public sealed class ResumeRequest
{
    private ResumeRequest(IReadOnlyDictionary<int, StreamPosition> positions) => Positions = positions;

    /// <summary>Stream (see <see cref="Streams"/>) -> the last position the client has on it.</summary>
    public IReadOnlyDictionary<int, StreamPosition> Positions { get; }

    public const string ErrorCode = "invalid_position";

    /// <summary>Parses the URL form; null or empty is "no resume" (true, <paramref name="request"/> null).</summary>
    public static bool TryParseQuery(string? value, out ResumeRequest? request, out string? problem)
    {
        request = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(value)) return true;
        var positions = new Dictionary<int, StreamPosition>();
        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            if (parts.Length != 3)
                return Fail($"\"{Truncate(item)}\" is not stream:epoch:offset (e.g. accidents:k3x9ab12:41)", out problem);
            if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                return Fail($"the offset in \"{Truncate(item)}\" is not a whole number >= 0", out problem);
            if (!TryAdd(positions, parts[0], parts[1], offset, out problem)) return false;
        }
        if (positions.Count == 0) return true;
        request = new ResumeRequest(positions);
        return true;
    }

    /// <summary>Parses the `since` member of a subscribe action.</summary>
    public static bool TryParseJson(JsonElement since, out ResumeRequest? request, out string? problem)
    {
        request = null;
        if (since.ValueKind != JsonValueKind.Object)
            return Fail("\"since\" must be an object: {\"accidents\":{\"epoch\":\"k3x9ab12\",\"offset\":41}}", out problem);
        var positions = new Dictionary<int, StreamPosition>();
        foreach (var member in since.EnumerateObject())
        {
            var value = member.Value;
            if (value.ValueKind != JsonValueKind.Object ||
                !value.TryGetProperty("epoch", out var epoch) || epoch.ValueKind != JsonValueKind.String ||
                !value.TryGetProperty("offset", out var offsetElement) || offsetElement.ValueKind != JsonValueKind.Number)
                return Fail($"\"since\".\"{Truncate(member.Name)}\" must be {{\"epoch\":\"...\",\"offset\":N}}", out problem);
            if (!offsetElement.TryGetInt64(out var offset) || offset < 0)
                return Fail($"the offset of \"{Truncate(member.Name)}\" is not a whole number >= 0", out problem);
            if (!ClientMessageParser.TryGetString(epoch, out var epochText))
                return Fail("\"since\" holds a string that is not valid Unicode (a lone surrogate escape)", out problem);
            if (!TryAdd(positions, member.Name, epochText!, offset, out problem)) return false;
        }
        problem = null;
        if (positions.Count == 0) return Fail("\"since\" names no stream", out problem);
        request = new ResumeRequest(positions);
        return true;
    }

    /// <summary>The fault when a position names a stream the client will not receive (a topic it does not subscribe to); null when none does.</summary>
    public string? NotSubscribed(TopicSet subscribed)
    {
        foreach (var stream in Positions.Keys)
            if (!Streams.IsReceivedWith(stream, subscribed))
                return $"a position for \"{Streams.Name(stream)}\", which is not subscribed: subscribe to it in the same request";
        return null;
    }

    private static bool TryAdd(Dictionary<int, StreamPosition> positions, string streamName, string epoch, long offset, out string? problem)
    {
        problem = null;
        if (!Streams.TryParse(streamName, out var stream))
            return Fail($"unknown stream \"{Truncate(streamName)}\": expected one of {string.Join(", ", TopicSet.All.WireNames())} or all", out problem);
        if (!StreamPosition.IsValidEpoch(epoch))
            return Fail($"the epoch of \"{streamName}\" must be 1 to {StreamPosition.MaxEpochLength} characters 0-9 a-z", out problem);
        if (!positions.TryAdd(stream, new StreamPosition(epoch, offset)))
            return Fail($"\"{streamName}\" is named twice", out problem);
        return true;
    }

    private static bool Fail(string message, out string? problem)
    {
        problem = message;
        return false;
    }

    private static string Truncate(string s) => s.Length > 64 ? s[..64] + "..." : s;
}
