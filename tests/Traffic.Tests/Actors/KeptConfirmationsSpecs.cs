using Akka.TestKit.Xunit2;
using Traffic.Actors.Aggregation;
using Xunit;

namespace Traffic.Tests.Actors;

/// <summary>
/// The aggregator's open <see cref="AggregatorCommands.ConfirmKept"/> requests: answered once both parts are in,
/// once only, refused at the first failed part, and bounded.
/// </summary>
public sealed class KeptConfirmationsSpecs : TestKit
{
    private readonly KeptConfirmations _confirmations = new();

    [Fact]
    public void A_request_is_answered_kept_once_both_parts_are_in_and_only_once()
    {
        var asker = CreateTestProbe();
        var id = _confirmations.Open(asker.Ref, stateSaved: false)!.Value;
        _confirmations.AlertsWritten(id);
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the state is not saved yet
        _confirmations.StateSaved(id);
        asker.ExpectMsg<AggregatorCommands.Kept>();
        Assert.Equal(0, _confirmations.Count);

        _confirmations.StateSaved(id); // late repeats of either part: nothing more
        _confirmations.AlertsWritten(id);
        _confirmations.Failed(id, "late");
        asker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_request_without_a_store_needs_only_the_ALERTs_written_and_each_request_has_its_own_id()
    {
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        var a = _confirmations.Open(first.Ref, stateSaved: true)!.Value;
        var b = _confirmations.Open(second.Ref, stateSaved: true)!.Value;
        Assert.NotEqual(a, b);
        _confirmations.AlertsWritten(b);
        second.ExpectMsg<AggregatorCommands.Kept>();
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _confirmations.Failed(a, "the database is unreachable");
        Assert.Equal("the database is unreachable", first.ExpectMsg<AggregatorCommands.NotKept>().Reason);
        _confirmations.AlertsWritten(a); // refused already: nothing more
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void At_most_MaxWaiting_requests_wait_and_the_next_is_refused_at_once()
    {
        var asker = CreateTestProbe();
        for (var i = 0; i < KeptConfirmations.MaxWaiting; i++) Assert.NotNull(_confirmations.Open(asker.Ref, stateSaved: false));
        Assert.Null(_confirmations.Open(asker.Ref, stateSaved: false));
        Assert.Contains("waiting for the database", asker.ExpectMsg<AggregatorCommands.NotKept>().Reason);
        Assert.Equal(KeptConfirmations.MaxWaiting, _confirmations.Count);
    }
}
