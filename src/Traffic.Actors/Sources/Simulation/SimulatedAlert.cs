using System.Text.Json.Nodes;
using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// An alert raised by the simulation: <paramref name="Data"/> is a fresh object (the entity that caused it plus
/// <c>alertType</c> and <c>message</c>) that the simulation never touches again.
/// </summary>
public sealed record SimulatedAlert(Topic Topic, JsonObject Data);
