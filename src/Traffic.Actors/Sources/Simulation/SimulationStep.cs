using Traffic.Actors.Protocol;

namespace Traffic.Actors.Sources.Simulation;

/// <summary>
/// What one <see cref="CitySimulation.Advance"/> changed: the topics whose <see cref="CitySimulation.Current"/>
/// differs from before the step (in wire order, each at most once), and the alerts the step raised (in the order
/// they happened). A step that changed nothing has both lists empty.
/// </summary>
public sealed record SimulationStep(IReadOnlyList<Topic> ChangedTopics, IReadOnlyList<SimulatedAlert> Alerts);
