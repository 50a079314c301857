namespace Traffic.Actors.Ingest;

/// <summary>
/// How the service's own subscription at the broker went (NGSI_LD_SUBSCRIBE), as /health/ready shows it:
/// <c>pending</c> (not answered yet), <c>created</c>, <c>updated</c> (it existed: made to match), <c>refused</c> (the broker said no, and why),
/// <c>unreachable</c> (retrying). Thread-safe.
/// </summary>
public sealed class SubscriptionStatus
{
    private volatile View _view = new("pending", null, null, null);

    public sealed record View(string State, string? Id, string? Detail, DateTimeOffset? At);

    public void Set(string state, string id, string? detail, DateTimeOffset at) => _view = new View(state, id, detail, at);

    public View Read() => _view;
}
