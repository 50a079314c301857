namespace Traffic.Actors.Protocol;

/// <summary>What a client asked for, decoded from one text frame.</summary>
public abstract record ClientCommand
{
    /// <param name="Since">Positions to resume from (see docs/protocol.md "Resume"), if given.</param>
    /// <param name="Deltas">"delta": true asks for delta UPDATEs from now on.</param>
    public sealed record Subscribe(TopicSet Topics, ResumeRequest? Since = null, bool Deltas = false) : ClientCommand;
    public sealed record Unsubscribe(TopicSet Topics) : ClientCommand;
    public sealed record Ping : ClientCommand
    {
        public static readonly Ping Instance = new();
    }

    /// <summary>The frame could not be understood; <see cref="Code"/> is the ERROR frame's `error` field.</summary>
    public sealed record Invalid(string Code, string Message) : ClientCommand;
}

/// <summary>Machine-readable codes of ERROR frames (docs/protocol.md lists them).</summary>
public static class ErrorCodes
{
    public const string MalformedJson = "malformed_json";
    public const string UnknownAction = "unknown_action";
    public const string UnknownTopic = "unknown_topic";
    public const string InvalidTopics = "invalid_topics";
    public const string BinaryNotSupported = "binary_not_supported";
    public const string InvalidPosition = ResumeRequest.ErrorCode;
    public const string InvalidDelta = "invalid_delta";
}
