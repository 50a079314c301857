using Akka.Actor;

namespace Traffic.Actors.Aggregation;

/// <summary>
/// The aggregator's open <see cref="AggregatorCommands.ConfirmKept"/> requests: each is answered
/// <see cref="AggregatorCommands.Kept"/> once both of its parts are in (the state saved, the ALERTs
/// written), or <see cref="AggregatorCommands.NotKept"/> at the first part that failed. Bounded: past
/// <see cref="MaxWaiting"/> (a database away for long under a flood of notifications) a new request is
/// refused at once rather than held; the askers have given up on the oldest by then anyway.
/// </summary>
public sealed class KeptConfirmations
{
    public const int MaxWaiting = 10_000;

    private readonly Dictionary<long, (IActorRef ReplyTo, bool StateSaved, bool AlertsWritten)> _waiting = new();
    private long _lastId;

    /// <summary>Opens a request for <paramref name="replyTo"/>; null when too many wait (it was refused).</summary>
    public long? Open(IActorRef replyTo, bool stateSaved)
    {
        if (_waiting.Count >= MaxWaiting)
        {
            replyTo.Tell(new AggregatorCommands.NotKept($"{MaxWaiting} notifications are waiting for the database; try again shortly"));
            return null;
        }
        var id = ++_lastId;
        _waiting[id] = (replyTo, stateSaved, false);
        return id;
    }

    public void StateSaved(long id) => Complete(id, state: true, alerts: false);

    public void AlertsWritten(long id) => Complete(id, state: false, alerts: true);

    public void Failed(long id, string reason)
    {
        if (_waiting.Remove(id, out var request)) request.ReplyTo.Tell(new AggregatorCommands.NotKept(reason));
    }

    public int Count => _waiting.Count;

    private void Complete(long id, bool state, bool alerts)
    {
        if (!_waiting.TryGetValue(id, out var request)) return; // failed already, or answered
        request = (request.ReplyTo, request.StateSaved || state, request.AlertsWritten || alerts);
        if (!request.StateSaved || !request.AlertsWritten)
        {
            _waiting[id] = request;
            return;
        }
        _waiting.Remove(id);
        request.ReplyTo.Tell(AggregatorCommands.Kept.Instance);
    }
}
