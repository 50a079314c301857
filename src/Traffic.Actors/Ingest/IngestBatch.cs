using System.Text.Json;

namespace Traffic.Actors.Ingest;

/// <summary>Where a batch came from: a broker's notification or a poll of the broker.</summary>
public enum IngestOrigin { Notification, Poll }

/// <summary>
/// What a source puts into the pipeline: entities as the broker sent them (any representation) and,
/// from a poll, the ids of <paramref name="RemovedType"/> that the broker no longer lists.
/// <paramref name="Reply"/> (notifications) gets the count of taken and refused entities once mapped.
/// </summary>
public sealed record IngestBatch(IngestOrigin Origin, IReadOnlyList<JsonElement> Entities, TaskCompletionSource<IngestOutcome>? Reply = null,
    string? RemovedType = null, IReadOnlyList<string>? RemovedIds = null);

/// <summary>One refused entity: its position in the batch, its id when it had one, and why.</summary>
public sealed record IngestRefusal(int Index, string? Id, string Fault);

/// <summary>How a batch went: how many entities were taken, and each refused one.</summary>
public sealed record IngestOutcome(int Taken, IReadOnlyList<IngestRefusal> Refused);
