namespace Traffic.Actors.Protocol;

/// <summary>
/// What a client asks for in its WebSocket URL: <c>?topics=</c> (default: every topic),
/// <c>since=</c> (a resume, see <see cref="ResumeRequest"/>) and <c>delta=true</c> (delta UPDATEs).
/// Parsed the same way by both ways of accepting a WebSocket; a fault refuses the handshake with 400.
/// </summary>
public sealed record ConnectRequest(TopicSet Topics, ResumeRequest? Since, bool Deltas)
{
    public static readonly ConnectRequest Default = new(TopicSet.All, null, false);

    /// <param name="query">Reads one query parameter's value (null when absent).</param>
    /// <param name="problem">The refusal's title and detail when false.</param>
    public static bool TryParse(Func<string, string?> query, out ConnectRequest request, out (string Title, string Detail) problem)
    {
        request = Default;
        problem = default;
        if (!ClientMessageParser.TryParseTopicList(query("topics"), out var topics, out var unknown))
        {
            problem = ("Unknown topic",
                $"?topics names \"{unknown}\"; expected a comma-separated list of {string.Join(", ", TopicSet.All.WireNames())} or all.");
            return false;
        }
        if (!ResumeRequest.TryParseQuery(query("since"), out var since, out var sinceProblem) ||
            since?.NotSubscribed(topics) is { } notSubscribed && (sinceProblem = notSubscribed) is not null)
        {
            problem = ("Invalid position", $"?since: {sinceProblem}. See docs/protocol.md, \"Resume\".");
            return false;
        }
        var deltas = false;
        if (query("delta") is { } delta && !TryParseFlag(delta, out deltas))
        {
            problem = ("Invalid delta", $"?delta must be true or false, not \"{(delta.Length > 16 ? delta[..16] + "..." : delta)}\".");
            return false;
        }
        request = new ConnectRequest(topics, since, deltas);
        return true;
    }

    private static bool TryParseFlag(string value, out bool flag)
    {
        flag = value is "true" or "1" or "";
        return flag || value is "false" or "0";
    }
}
