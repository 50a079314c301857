using System.Security.Cryptography;
using System.Text.Json;

namespace Traffic.Actors.Ingest;

/// <summary>
/// Change detection for one polled entity type: a content hash per id (it covers <c>modifiedAt</c>,
/// <c>observedAt</c> and every value, whichever the broker keeps), so an unchanged entity causes no
/// work, and the ids the broker stopped listing (to remove). Used by one poll at a time.
/// </summary>
public sealed class ChangeTracker
{
    private Dictionary<string, ulong> _known = new(StringComparer.Ordinal);

    /// <summary>Takes a complete listing: the entities that are new or changed, and the ids gone since the last listing.</summary>
    public (IReadOnlyList<JsonElement> Changed, IReadOnlyList<string> Removed) Take(IReadOnlyList<JsonElement> listing)
    {
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
        var removed = _known.Keys.Where(id => !next.ContainsKey(id)).ToArray();
        _known = next;
        return (changed, removed);
    }

    private static ulong Hash(JsonElement entity)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(entity), digest);
        return BitConverter.ToUInt64(digest);
    }
}
