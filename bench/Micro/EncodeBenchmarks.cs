using BenchmarkDotNet.Attributes;
using Traffic.Actors.Protocol;
using Traffic.Actors.Sources.Simulation;

namespace Bench.Micro;

/// <summary>Encoding a message once: the only serialization a publish pays, whatever its fan-out.</summary>
[MemoryDiagnoser]
public class EncodeBenchmarks
{
    private IReadOnlyList<EntityJson> _cameras = null!;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    [GlobalSetup]
    public void Setup()
    {
        var simulation = new CitySimulation(1, _now);
        _cameras = simulation.Current(Topic.Cameras)
            .Select(c => new EntityJson(c["id"]!.GetValue<string>(), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(c)))
            .ToArray();
    }

    [Benchmark(Description = "publish frame (~380 B)")]
    public ServerFrame PublishedAlert() => ServerMessages.Published(ServerMessageType.Alert, Topic.Accidents, Payloads.Data, _now);

    [Benchmark(Description = "scheduled UPDATE, 68 cameras")]
    public ServerFrame CamerasUpdate() => ServerMessages.Update(Topic.Cameras, _cameras, _now);
}
