using System.Text.Json;

namespace Traffic.Actors.Ingest;

/// <summary>
/// One NGSI-LD entity read in any of the three representations a broker sends: <c>normalized</c>
/// (<c>{"type":"Property","value":...}</c>, <c>GeoProperty</c>, <c>Relationship</c> with <c>object</c>),
/// <c>concise</c> (<c>{"value":...}</c> without the type, <c>{"object":...}</c>) and <c>keyValues</c>
/// (plain values). Each attribute becomes its plain value; JSON-LD typed values
/// (<c>{"@type":"DateTime","@value":...}</c>) become their <c>@value</c>. Names expanded to URIs
/// (no @context applied by the broker) are shortened to their last segment.
/// </summary>
public sealed class NgsiLdEntity
{
    private static readonly HashSet<string> NormalizedKinds =
        ["Property", "GeoProperty", "Relationship", "LanguageProperty", "VocabProperty", "ListProperty", "JsonProperty", "ListRelationship"];

    /// <summary>The members that hold an attribute's value, one per kind: an object with a <c>type</c> and one of them is a normalized attribute.</summary>
    private static readonly string[] ValueMembers = ["value", "object", "languageMap", "vocab", "json", "valueList", "objectList"];

    /// <summary>NGSI-LD's null (1.8): the value of an attribute that was deleted, or that a partial update removes.</summary>
    public const string NgsiLdNull = "urn:ngsi-ld:null";

    private readonly Dictionary<string, JsonElement> _attributes;
    private readonly HashSet<string> _nulled;

    private NgsiLdEntity(string id, string type, Dictionary<string, JsonElement> attributes, HashSet<string> nulled, string? newestObservedAt,
        string? deletedAt)
    {
        Id = id;
        Type = type;
        _attributes = attributes;
        _nulled = nulled;
        NewestObservedAt = newestObservedAt;
        DeletedAt = deletedAt;
    }

    /// <summary>Set when the broker says the entity was deleted (an NGSI-LD 1.8 <c>entityDeleted</c> notification carries it).</summary>
    public string? DeletedAt { get; }

    /// <summary>Whether the entity sets one of <paramref name="names"/> to NGSI-LD's null (<c>"urn:ngsi-ld:null"</c>): that attribute is removed.</summary>
    public bool Nulls(params string[] names) => names.Any(_nulled.Contains);

    public string Id { get; }

    /// <summary>The entity type, shortened (<c>https://uri.fiware.org/ns/data-models#RoadAccident</c> is <c>RoadAccident</c>).</summary>
    public string Type { get; }

    /// <summary>The latest <c>observedAt</c> (or <c>modifiedAt</c>) of any attribute, as sent; null in keyValues form.</summary>
    public string? NewestObservedAt { get; }

    /// <summary>The plain value of the first of <paramref name="names"/> that the entity has.</summary>
    public bool TryGet(out JsonElement value, out string name, params string[] names)
    {
        foreach (var candidate in names)
        {
            if (_attributes.TryGetValue(candidate, out value) && value.ValueKind != JsonValueKind.Null)
            {
                name = candidate;
                return true;
            }
        }
        value = default;
        name = names[0];
        return false;
    }

    /// <summary>Reads one element of a notification's <c>data</c> (or of a query's answer); throws <see cref="IngestFault"/>.</summary>
    public static NgsiLdEntity Read(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new IngestFault($"an entity must be a JSON object, not {Describe(element.ValueKind)}");
        if (!element.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String || idElement.GetString() is not { Length: > 0 } id)
            throw new IngestFault("the entity has no \"id\" (a non-empty string)");
        var type = element.TryGetProperty("type", out var typeElement) ? TypeName(typeElement) : null;
        if (type is null) throw new IngestFault($"entity {id} has no \"type\" (a string)");

        var attributes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var nulled = new HashSet<string>(StringComparer.Ordinal);
        string? newest = null;
        string? deletedAt = null;
        foreach (var property in element.EnumerateObject())
        {
            var name = ShortName(property.Name);
            if (name is "id" or "type" or "@context" or "scope") continue;
            if (name == "deletedAt")
            {
                deletedAt = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
                continue;
            }
            var (value, observedAt) = Attribute(id, name, property.Value);
            if (value.ValueKind == JsonValueKind.String && value.ValueEquals(NgsiLdNull)) nulled.Add(name);
            else attributes.TryAdd(name, value);
            if (observedAt is not null && string.CompareOrdinal(observedAt, newest) > 0) newest = observedAt;
        }
        return new NgsiLdEntity(id, ShortName(type), attributes, nulled, newest, deletedAt);
    }

    private static string? TypeName(JsonElement type) => type.ValueKind switch
    {
        JsonValueKind.String => type.GetString() is { Length: > 0 } name ? name : null,
        JsonValueKind.Array => type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString() : null).FirstOrDefault(t => t is { Length: > 0 }),
        _ => null,
    };

    private static (JsonElement Value, string? ObservedAt) Attribute(string id, string name, JsonElement raw)
    {
        // A multi-attribute (several datasetIds): the first instance stands for it.
        if (raw.ValueKind == JsonValueKind.Array && raw.GetArrayLength() > 0 && raw[0].ValueKind == JsonValueKind.Object && HasKind(raw[0]))
            raw = raw[0];
        if (raw.ValueKind != JsonValueKind.Object) return (raw, null);

        var observedAt = Text(raw, "observedAt") ?? Text(raw, "modifiedAt");
        if (HasKind(raw))
        {
            // {"type":"Propertie","value":...}: a normalized attribute whose kind is not one; its value cannot be trusted to mean anything.
            if (!IsNormalized(raw, out var kind))
                throw new IngestFault($"entity {id}: attribute \"{name}\" has type \"{kind}\", which is not an NGSI-LD attribute kind ({string.Join(", ", NormalizedKinds)})");
            var member = kind switch
            {
                "Relationship" or "ListRelationship" => "object",
                "LanguageProperty" => "languageMap",
                "VocabProperty" => "vocab",
                "JsonProperty" => "json",
                "ListProperty" => "valueList",
                _ => "value",
            };
            if (!raw.TryGetProperty(member, out var value))
                throw new IngestFault($"entity {id}: attribute \"{name}\" is a {kind} without \"{member}\"");
            if (kind == "LanguageProperty" && value.ValueKind == JsonValueKind.Object)
                value = value.EnumerateObject().Select(p => p.Value).FirstOrDefault();
            return (Unwrap(value), observedAt);
        }
        // concise: {"value": ...} or {"object": ...} without a type; a JSON-LD typed value; else a plain object (keyValues).
        if (raw.TryGetProperty("value", out var concise)) return (Unwrap(concise), observedAt);
        if (raw.TryGetProperty("object", out var target) && raw.EnumerateObject().All(p => p.Name is "object" or "observedAt" or "datasetId"))
            return (target, observedAt);
        return (Unwrap(raw), null);
    }

    /// <summary>
    /// An object whose text <c>type</c> is an attribute kind, or that has a value member (<c>value</c>, <c>object</c>, ...)
    /// beside a text <c>type</c>: a normalized attribute, whatever its kind says. A keyValues object value has a
    /// <c>type</c> too (GeoJSON, a PostalAddress) but no such member.
    /// </summary>
    private static bool HasKind(JsonElement attribute) =>
        attribute.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String &&
        (NormalizedKinds.Contains(type.GetString()!) || ValueMembers.Any(member => attribute.TryGetProperty(member, out _)));

    private static bool IsNormalized(JsonElement attribute, out string kind)
    {
        kind = Text(attribute, "type") ?? "";
        return NormalizedKinds.Contains(kind);
    }

    private static JsonElement Unwrap(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty("@value", out var inner) ? inner : value;

    private static string? Text(JsonElement element, string member) =>
        element.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary><c>https://smartdatamodels.org/dataModel.Transportation/intensity</c> is <c>intensity</c>; short names stay.</summary>
    private static string ShortName(string name)
    {
        if (!name.Contains(':')) return name;
        var cut = Math.Max(name.LastIndexOf('#'), name.LastIndexOf('/'));
        return cut >= 0 && cut < name.Length - 1 ? name[(cut + 1)..] : name;
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
