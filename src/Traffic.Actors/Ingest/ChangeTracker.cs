using System.Security.Cryptography;
using System.Text.Json;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Change detection for one polled entity type: a content hash per id (it covers <c>modifiedAt</c>,
/// <c>observedAt</c> and every value, whichever the broker keeps), so an unchanged entity causes no
/// work, and the ids the broker stopped listing (to remove). Used by one poll at a time.
/// <para>
/// Offset paging over a listing that changes while it is read skips an entity (one before it was deleted
/// between two pages): an id leaves only when it is missing from <see cref="MissesBeforeRemoval"/> complete
/// listings in a row, so a skipped entity stays, and is not taken for new (no second "new accident" ALERT)
/// when it shows again.
/// </para>
/// </summary>
public sealed class ChangeTracker
{
    /// <summary>Complete listings in a row an id must be missing from before it is removed.</summary>
    public const int MissesBeforeRemoval = 2;

    /// <summary>The hash of an id known from elsewhere (the aggregator's state), whose content this tracker never saw.</summary>
    private const ulong UnknownContent = 0;

    private Dictionary<string, ulong> _known = new(StringComparer.Ordinal);
    private Dictionary<string, int> _misses = new(StringComparer.Ordinal);

    /// <summary>
    /// False until a first complete listing was taken or the tracker was seeded: the first listing after a cold
    /// start is a load (what is already there is not news: it raises no ALERT).
    /// </summary>
    public bool HasBaseline { get; private set; }

    /// <summary>
    /// Resumes from what the service already holds (the aggregator's state, e.g. after the poller moved to
    /// another node): the next listing is not a load (a new id may alert, the aggregator decides against its
    /// state). With <paramref name="removable"/>, these ids leave when the broker no longer lists them, as if
    /// this tracker had seen them (only when NGSI-LD is the topic's sole source: else they may be the simulator's).
    /// </summary>
    public void Seed(IEnumerable<string> ids, bool removable)
    {
        var any = false;
        foreach (var id in ids)
        {
            any = true;
            if (removable) _known.TryAdd(id, UnknownContent);
        }
        if (any) HasBaseline = true;
    }

    /// <summary>
    /// Forgets what the entities held (keeping which ids are known): after a failed graph, whose last changes may not have
    /// reached the aggregator, the next listing takes every entity again (what the aggregator knew alerts nothing).
    /// </summary>
    public void ForgetContent()
    {
        foreach (var id in _known.Keys.ToArray()) _known[id] = UnknownContent;
    }

    /// <summary>
    /// Takes a complete listing: the entities that are new or changed, the ids gone (missing from this and the
    /// previous complete listings), and whether this listing may raise ALERTs (false for a cold start's first).
    /// </summary>
    public (IReadOnlyList<JsonElement> Changed, IReadOnlyList<string> Removed, bool RaiseAlerts) Take(IReadOnlyList<JsonElement> listing)
    {
        var raiseAlerts = HasBaseline;
        var next = new Dictionary<string, ulong>(listing.Count, StringComparer.Ordinal);
        var changed = new List<JsonElement>();
        foreach (var entity in listing)
        {
            var id = entity.ValueKind == JsonValueKind.Object && entity.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String
                ? idElement.GetString() ?? "" : "";
            var hash = Hash(entity);
            if (id.Length > 0) next[id] = hash;
            if (id.Length == 0 || !_known.TryGetValue(id, out var before) || before != hash) changed.Add(entity);
        }
        var removed = new List<string>();
        var misses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, hash) in _known)
        {
            if (next.ContainsKey(id)) continue;
            var missed = _misses.GetValueOrDefault(id) + 1;
            if (missed >= MissesBeforeRemoval) removed.Add(id);
            else
            {
                next[id] = hash; // still held: maybe only skipped by a listing that shifted between pages
                misses[id] = missed;
            }
        }
        _known = next;
        _misses = misses;
        HasBaseline = true;
        return (changed, removed, raiseAlerts);
    }

    private static ulong Hash(JsonElement entity)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(entity), digest);
        var hash = BitConverter.ToUInt64(digest);
        return hash == UnknownContent ? 1 : hash;
    }
}
