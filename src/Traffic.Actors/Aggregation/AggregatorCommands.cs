using Traffic.Actors.Protocol;

namespace Traffic.Actors.Aggregation;

/// <summary>Messages of <see cref="AggregatorActor"/>.</summary>
public static class AggregatorCommands
{
    /// <summary>A source's whole current list for a topic; it replaces what the cache held.</summary>
    public sealed record ReplaceTopic(Topic Topic, IReadOnlyList<EntityJson> Entities);

    /// <summary>Something a subscriber must hear now (a severe accident, AQI over threshold): sent at once as an ALERT.</summary>
    public sealed record RaiseAlert(Topic Topic, byte[] DataJson);

    /// <summary>Timer message: time to send this topic's scheduled UPDATE.</summary>
    public sealed record TopicDue(Topic Topic);

    /// <summary>A failed aggregator's state, handed to the instance that replaces it.</summary>
    public sealed record RestoreState(IReadOnlyDictionary<Topic, IReadOnlyList<EntityJson>> State);

    // Per-entity changes (the NGSI-LD ingest, docs/ngsi-ld.md): merged into the topic's list by id.

    /// <summary>How an upserted entity meets the one the topic's list already holds under its id.</summary>
    public enum UpsertMode : byte
    {
        /// <summary>The entity replaces the one held (a whole entity: a poll, the simulation).</summary>
        Replace = 0,

        /// <summary>
        /// The entity's fields replace those of the one held, the others stay; a field whose value is JSON
        /// null is removed (a notification may carry only the attributes that changed, docs/ngsi-ld.md).
        /// Merged by the aggregator, the one owner of the state, so that no node merges into a stale copy.
        /// </summary>
        MergeFields = 1,
    }

    /// <summary>
    /// Inserts or replaces (or, with <see cref="UpsertMode.MergeFields"/>, merges into) these entities by id in
    /// the topic's list (new ids go to its end; the rest of the list stays). Each of <paramref name="Alerts"/> is
    /// raised at once when its condition holds against the state before this change, so that only the owner of
    /// the state decides (raised once in a cluster); when merging, its data is merged into the entity held too.
    /// </summary>
    public sealed record UpsertEntities(Topic Topic, IReadOnlyList<EntityJson> Entities, IReadOnlyList<ConditionalAlert> Alerts,
        UpsertMode Mode = UpsertMode.Replace)
    {
        public UpsertEntities(Topic topic, IReadOnlyList<EntityJson> entities) : this(topic, entities, []) { }
    }

    /// <summary>Takes these ids out of the topic's list (unknown ids are ignored).</summary>
    public sealed record RemoveEntities(Topic Topic, IReadOnlyList<string> Ids);

    /// <summary>The answer to <see cref="UpsertEntities"/> and <see cref="RemoveEntities"/>: applied (the ingest paces itself on it).</summary>
    public sealed record EntitiesApplied
    {
        public static readonly EntitiesApplied Instance = new();
    }

    /// <summary>
    /// Asked by the ingest once a notification's changes are handed over: answered <see cref="Kept"/> once everything
    /// handed over before it is in the database (the state saved, every ALERT it raised written to the journal), or
    /// <see cref="NotKept"/> when that cannot be done now. Without persistence: at once. So an NGSI-LD notification is
    /// answered 200 only when a crash can no longer lose it (docs/ngsi-ld.md).
    /// </summary>
    public sealed record ConfirmKept
    {
        public static readonly ConfirmKept Instance = new();
    }

    /// <summary>The answer to <see cref="ConfirmKept"/>: kept.</summary>
    public sealed record Kept
    {
        public static readonly Kept Instance = new();
    }

    /// <summary>The answer to <see cref="ConfirmKept"/>: not kept now (<paramref name="Reason"/>, e.g. the database is away); the sender may retry.</summary>
    public sealed record NotKept(string Reason);

    /// <summary>When an upserted entity raises an ALERT, judged against the entity the state held before.</summary>
    public enum AlertCondition : byte
    {
        /// <summary>The id was not in the topic's list (a new accident).</summary>
        NewEntity = 0,

        /// <summary>The previous entity's numeric <c>Field</c> was at or below <c>Threshold</c> (the new one is above: checked by the sender).</summary>
        CrossedAbove = 1,

        /// <summary>
        /// The id was in the list and its text <c>Field</c> was none of <c>Values</c> (compared ignoring case; absent counts
        /// as none): the entity has just entered that set (an accident escalated to a severe level; the new value is checked by the sender).
        /// </summary>
        EnteredSet = 2,
    }

    /// <summary>
    /// An ALERT (<paramref name="DataJson"/>, as <see cref="RaiseAlert"/>) raised if <paramref name="Condition"/> holds for
    /// <paramref name="EntityId"/>; <paramref name="Values"/> is the set of <see cref="AlertCondition.EnteredSet"/> (null otherwise).
    /// </summary>
    public sealed record ConditionalAlert(string EntityId, AlertCondition Condition, string Field, double Threshold, byte[] DataJson,
        IReadOnlyList<string>? Values = null);
}
