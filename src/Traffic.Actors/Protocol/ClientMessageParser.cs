using System.Text.Json;

namespace Traffic.Actors.Protocol;

/// <summary>
/// The one decoder of client-to-server messages: {"action":"subscribe"|"unsubscribe","topics":[...]}
/// and {"action":"ping"}. Never throws: bad input becomes <see cref="ClientCommand.Invalid"/>.
/// </summary>
public static class ClientMessageParser
{
    public static ClientCommand Parse(ReadOnlySpan<byte> utf8)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
            document = JsonDocument.ParseValue(ref reader);
            // One message per frame: anything but whitespace after the value makes the frame malformed
            // (Read throws on garbage, returns true on a second value).
            if (reader.Read())
            {
                document.Dispose();
                return new ClientCommand.Invalid(ErrorCodes.MalformedJson, "message must be exactly one JSON object; more data follows it");
            }
        }
        catch (JsonException e)
        {
            return new ClientCommand.Invalid(ErrorCodes.MalformedJson, $"message is not valid JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new ClientCommand.Invalid(ErrorCodes.MalformedJson, "message must be a JSON object with an \"action\"");
            if (!root.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
                return new ClientCommand.Invalid(ErrorCodes.UnknownAction, "missing \"action\": expected subscribe, unsubscribe or ping");
            if (!TryGetString(action, out var actionName))
                return LoneSurrogate("action");

            return actionName switch
            {
                "ping" => ClientCommand.Ping.Instance,
                "subscribe" => ParseTopics(root, t => ParseSubscribeOptions(root, t)),
                "unsubscribe" => ParseTopics(root, t => new ClientCommand.Unsubscribe(t)),
                var other => new ClientCommand.Invalid(ErrorCodes.UnknownAction,
                    $"unknown action \"{Truncate(other)}\": expected subscribe, unsubscribe or ping"),
            };
        }
    }

    /// <summary>Parses a `?topics=a,b` query value; null or empty means every topic.</summary>
    public static bool TryParseTopicList(string? commaSeparated, out TopicSet topics, out string? unknown)
    {
        topics = TopicSet.All;
        unknown = null;
        if (string.IsNullOrWhiteSpace(commaSeparated)) return true;
        var set = TopicSet.None;
        foreach (var raw in commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryResolve(raw, out var one)) { unknown = raw; return false; }
            set = set.Union(one);
        }
        topics = set;
        return true;
    }

    private static ClientCommand ParseTopics(JsonElement root, Func<TopicSet, ClientCommand> make)
    {
        if (!root.TryGetProperty("topics", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            return new ClientCommand.Invalid(ErrorCodes.InvalidTopics, "\"topics\" must be a non-empty array of topic names");

        var set = TopicSet.None;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                return new ClientCommand.Invalid(ErrorCodes.InvalidTopics, "\"topics\" must contain only strings");
            if (!TryGetString(item, out var name)) return LoneSurrogate("topics");
            if (!TryResolve(name, out var one))
                return new ClientCommand.Invalid(ErrorCodes.UnknownTopic,
                    $"unknown topic \"{Truncate(name)}\": expected one of {string.Join(", ", TopicSet.All.WireNames())} or all");
            set = set.Union(one);
        }
        return make(set);
    }

    /// <summary>The options a subscribe may add: "since" (resume) and "delta".</summary>
    private static ClientCommand ParseSubscribeOptions(JsonElement root, TopicSet topics)
    {
        ResumeRequest? since = null;
        if (root.TryGetProperty("since", out var sinceElement) && !ResumeRequest.TryParseJson(sinceElement, out since, out var problem))
            return new ClientCommand.Invalid(ErrorCodes.InvalidPosition, problem!);
        var deltas = false;
        if (root.TryGetProperty("delta", out var delta))
        {
            if (delta.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                return new ClientCommand.Invalid(ErrorCodes.InvalidDelta, "\"delta\" must be true or false");
            deltas = delta.ValueKind == JsonValueKind.True;
        }
        return new ClientCommand.Subscribe(topics, since, deltas);
    }

    /// <summary>
    /// A JSON string's value, or false when it cannot be one: an escaped lone surrogate
    /// (<c>"\ud800"</c>) is valid JSON syntax but no valid UTF-16 string, and GetString throws on it.
    /// </summary>
    public static bool TryGetString(JsonElement element, out string? value)
    {
        try
        {
            value = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    private static ClientCommand.Invalid LoneSurrogate(string field) =>
        new(ErrorCodes.MalformedJson, $"\"{field}\" holds a string that is not valid Unicode (a lone surrogate escape)");

    private static bool TryResolve(string? name, out TopicSet set)
    {
        if (name == Topics.AllName) { set = TopicSet.All; return true; }
        var ok = Topics.TryParse(name, out var topic);
        set = ok ? TopicSet.Of(topic) : TopicSet.None;
        return ok;
    }

    private static string? Truncate(string? s) => s is { Length: > 64 } ? s[..64] + "..." : s;
}
