namespace Traffic.Actors.Connections;

/// <summary>
/// ERROR codes the connection itself sends, beside the parser's <see cref="Protocol.ErrorCodes"/>
/// (kept apart so that the protocol codec stays about what a message says, not how many arrive).
/// </summary>
public static class ConnectionErrorCodes
{
    /// <summary>Messages over CLIENT_MESSAGES_PER_SECOND / CLIENT_MESSAGE_BURST are dropped; told once a second.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>Too many messages before the SNAPSHOT was sent; the extra ones were dropped (told once).</summary>
    public const string NotReady = "not_ready";
}
