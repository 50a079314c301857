using System.Text.Json;

namespace Traffic.Actors.Ingest;

/// <summary>Where a batch came from: a broker's notification or a poll of the broker.</summary>
public enum IngestOrigin { Notification, Poll }

/// <summary>
/// What a source puts into the pipeline: entities as the broker sent them (any representation) and,
/// from a poll, the ids of <paramref name="RemovedType"/> that the broker no longer lists.
/// <paramref name="Reply"/> (notifications) gets the count of taken and refused entities once what was taken is kept (see <see cref="IngestPipeline"/>).
/// <paramref name="EntitiesDeleted"/>: a notification of deleted entities (NGSI-LD 1.8 <c>entityDeleted</c>): each leaves its topic.
/// A notification's entities are merged field by field into those held (it may carry only what changed);
/// a poll's replace them (it lists whole entities).
/// <paramref name="RaiseAlerts"/> false: a load of what the broker already holds (the first listing after a cold start): no ALERT.
/// </summary>
public sealed record IngestBatch(IngestOrigin Origin, IReadOnlyList<JsonElement> Entities, TaskCompletionSource<IngestOutcome>? Reply = null,
    string? RemovedType = null, IReadOnlyList<string>? RemovedIds = null, bool EntitiesDeleted = false, bool RaiseAlerts = true);

/// <summary>
/// One refused entity: its position in the batch, its id when it had one, and why. <paramref name="Error"/>: the unexpected
/// exception (not an <see cref="IngestFault"/>) that mapping it threw, logged once by the pipeline.
/// </summary>
public sealed record IngestRefusal(int Index, string? Id, string Fault, Exception? Error = null);

/// <summary>How a batch went: how many entities were taken, and each refused one.</summary>
public sealed record IngestOutcome(int Taken, IReadOnlyList<IngestRefusal> Refused);

/// <summary>A notification's changes were taken but cannot be confirmed kept in the database now (<paramref name="reason"/>): the broker should send it again.</summary>
public sealed class IngestNotKeptException(string reason) : Exception(reason);
