using System.Text.Json;
using Traffic.Actors.Ingest;
using Xunit;

namespace Traffic.Tests.Ingest;

/// <summary>The poller's change detection: what is taken, when an id leaves, when a listing may alert.</summary>
public sealed class ChangeTrackerSpecs
{
    private static JsonElement Entity(string id, string status = "active") =>
        JsonDocument.Parse($$"""{"id":"{{id}}","type":"Camera","status":"{{status}}"}""").RootElement;

    private static string[] Ids(IReadOnlyList<JsonElement> entities) => entities.Select(e => e.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public void The_first_listing_is_a_load_then_only_changes_are_taken_and_an_id_leaves_after_two_missed_listings()
    {
        var tracker = new ChangeTracker();
        var (changed, removed, alerts) = tracker.Take([Entity("a"), Entity("b"), Entity("c")]);
        Assert.Equal(["a", "b", "c"], Ids(changed));
        Assert.Empty(removed);
        Assert.False(alerts); // a cold start's first listing: no ALERT

        (changed, removed, alerts) = tracker.Take([Entity("a"), Entity("b", "offline")]); // c skipped (or gone)
        Assert.Equal(["b"], Ids(changed));
        Assert.Empty(removed);
        Assert.True(alerts);

        (changed, removed, _) = tracker.Take([Entity("a"), Entity("b", "offline"), Entity("c")]); // c was only skipped
        Assert.Empty(changed); // and is not taken for new
        Assert.Empty(removed);

        tracker.Take([Entity("a"), Entity("b", "offline")]);
        (_, removed, _) = tracker.Take([Entity("a"), Entity("b", "offline")]);
        Assert.Equal(["c"], removed);
        (_, removed, _) = tracker.Take([Entity("a"), Entity("b", "offline")]);
        Assert.Empty(removed); // removed once
    }

    [Fact]
    public void A_seeded_tracker_alerts_from_its_first_listing_and_removes_seeded_ids_only_when_told_they_are_its_own()
    {
        var own = new ChangeTracker();
        own.Seed(["a", "gone"], removable: true);
        var (changed, removed, alerts) = own.Take([Entity("a")]);
        Assert.True(alerts);
        Assert.Equal(["a"], Ids(changed)); // its content was never seen: taken once
        Assert.Empty(removed);
        (_, removed, _) = own.Take([Entity("a")]);
        Assert.Equal(["gone"], removed);

        var shared = new ChangeTracker();
        shared.Seed(["simulated"], removable: false);
        Assert.True(shared.Take([Entity("a")]).RaiseAlerts);
        Assert.Empty(shared.Take([Entity("a")]).Removed);

        var empty = new ChangeTracker();
        empty.Seed([], removable: true);
        Assert.False(empty.Take([Entity("a")]).RaiseAlerts); // nothing held: still a cold start
    }
}
