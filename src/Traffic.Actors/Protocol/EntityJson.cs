namespace Traffic.Actors.Protocol;

/// <summary>One entity (a camera, a weather observation, ...) already serialized as a UTF-8 JSON object.</summary>
public sealed record EntityJson(string Id, byte[] Utf8Json);
