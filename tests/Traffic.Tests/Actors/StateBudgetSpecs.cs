using System.Text;
using Traffic.Actors.Aggregation;
using Traffic.Actors.Protocol;
using Xunit;

namespace Traffic.Tests.Actors;

public sealed class StateBudgetSpecs
{
    private static EntityJson Entity(string id, int padding = 0) =>
        new(id, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","pad":"{{new string('x', padding)}}"}"""));

    private static string[] Ids(StateBudget.Fitted fitted) => fitted.Entities.Select(e => e.Id).ToArray();

    [Fact]
    public void A_change_within_the_limits_is_taken_as_it_is_and_counted()
    {
        var budget = new StateBudget(new StateLimits(3, 64 * 1024));
        List<EntityJson> proposed = [Entity("a"), Entity("b")];

        var fitted = budget.Fit(Topic.Cameras, [], proposed);

        Assert.Same(proposed, fitted.Entities);
        Assert.Empty(fitted.Refused);
        Assert.Equal(StateBudget.SizeOf(proposed), budget.BytesOf(Topic.Cameras));
        Assert.Equal(budget.BytesOf(Topic.Cameras), budget.TotalBytes);
    }

    [Fact]
    public void New_ids_past_the_entity_bound_are_refused_in_their_order_and_the_held_ones_stay()
    {
        var budget = new StateBudget(new StateLimits(3, 64 * 1024));
        var held = budget.Fit(Topic.Cameras, [], [Entity("a"), Entity("b")]).Entities;

        var fitted = budget.Fit(Topic.Cameras, held, [.. held, Entity("c"), Entity("d"), Entity("e")]);

        Assert.Equal(["a", "b", "c"], Ids(fitted));
        Assert.Equal(["d", "e"], fitted.Refused);
        Assert.Equal(StateBudget.SizeOf(fitted.Entities), budget.BytesOf(Topic.Cameras));
    }

    [Fact]
    public void The_bytes_bound_is_over_every_topic_together()
    {
        var one = StateBudget.SizeOf(Entity("w1", 100));
        var budget = new StateBudget(new StateLimits(100, 3 * one));
        budget.Fit(Topic.Weather, [], [Entity("w1", 100), Entity("w2", 100)]);

        var fitted = budget.Fit(Topic.Cameras, [], [Entity("c1", 100), Entity("c2", 100)]);

        Assert.Equal(["c1"], Ids(fitted));
        Assert.Equal(["c2"], fitted.Refused);
        Assert.Equal(3 * one, budget.TotalBytes);
    }

    [Fact]
    public void A_held_entity_that_grows_past_the_room_keeps_its_last_form_while_one_that_shrinks_or_fits_changes()
    {
        var small = StateBudget.SizeOf(Entity("a", 10));
        var budget = new StateBudget(new StateLimits(10, 3 * small + 5));
        var held = budget.Fit(Topic.Accidents, [], [Entity("a", 10), Entity("b", 10), Entity("c", 10)]).Entities;

        var grownA = Entity("a", 12); // 2 bytes more: fits in the 5 left
        var grownB = Entity("b", 200); // no room
        var fitted = budget.Fit(Topic.Accidents, held, [grownA, grownB, Entity("c", 0)]);

        Assert.Same(grownA, fitted.Entities[0]);
        Assert.Same(held[1], fitted.Entities[1]);
        Assert.Equal(Entity("c", 0).Utf8Json, fitted.Entities[2].Utf8Json);
        Assert.Equal(["b"], fitted.Refused);
    }

    [Fact]
    public void Removing_entities_makes_room_for_new_ones()
    {
        var budget = new StateBudget(new StateLimits(2, 64 * 1024));
        var held = budget.Fit(Topic.Cameras, [], [Entity("a"), Entity("b")]).Entities;
        Assert.Equal(["c"], budget.Fit(Topic.Cameras, held, [.. held, Entity("c")]).Refused);

        var fitted = budget.Fit(Topic.Cameras, held, [held[1], Entity("c")]); // a whole list without "a"

        Assert.Equal(["b", "c"], Ids(fitted));
        Assert.Empty(fitted.Refused);
    }

    [Fact]
    public void A_state_held_over_lowered_limits_is_kept_and_only_new_ids_are_refused()
    {
        var budget = new StateBudget(new StateLimits(1, 64 * 1024));
        List<EntityJson> saved = [Entity("a"), Entity("b"), Entity("c")];
        budget.Held(Topic.Cameras, saved);

        var fitted = budget.Fit(Topic.Cameras, saved, [.. saved, Entity("d")]);

        Assert.Equal(["a", "b", "c"], Ids(fitted));
        Assert.Equal(["d"], fitted.Refused);
    }

    [Fact]
    public void An_entity_costs_its_id_and_its_json_and_a_little_for_its_framing()
    {
        var entity = new EntityJson("é1", Encoding.UTF8.GetBytes("{}"));
        Assert.Equal(2 + 3 + StateBudget.FramingBytes, StateBudget.SizeOf(entity));
    }

    [Fact]
    public void The_default_bytes_bound_leaves_a_megabyte_under_the_cluster_frame()
    {
        Assert.Equal(4L * 1024 * 1024 - 1024 * 1024, StateLimits.Default.MaxStateBytes);
        Assert.Equal(10_000, StateLimits.Default.MaxEntitiesPerTopic);
    }
}
