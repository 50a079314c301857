using System.Reflection;
using NetArchTest.Rules;
using Traffic.Actors.Protocol;
using Traffic.Host;
using Xunit;

namespace Traffic.Tests.Architecture;

/// <summary>
/// The layers of docs/architecture.md ("Layers"): a namespace may use the namespaces of lower layers
/// only, never a higher one nor another of its own layer, so dependencies run one way. Checked on the
/// compiled assemblies (every type reference, not only using directives).
/// </summary>
public sealed class LayerSpecs
{
    /// <summary>Traffic.Actors, bottom first. Each entry is one layer; a layer may hold several namespaces that do not know each other.</summary>
    public static readonly string[][] ActorLayers =
    [
        ["Traffic.Actors.Protocol", "Traffic.Actors.Hosting"],
        ["Traffic.Actors.Metrics", "Traffic.Actors.Transport"],
        ["Traffic.Actors.Routing"],
        ["Traffic.Actors.Aggregation"],
        ["Traffic.Actors.Connections", "Traffic.Actors.Sources"],
        ["Traffic.Actors.Ingest"],
        ["Traffic.Actors.Cluster"],
    ];

    /// <summary>Traffic.Host, bottom first; the root namespace (TrafficApp, TrafficProgram) composes them all.</summary>
    public static readonly string[][] HostLayers =
    [
        ["Traffic.Host.Configuration"],
        ["Traffic.Host.Admission", "Traffic.Host.Memory", "Traffic.Host.Lifetime", "Traffic.Host.Persistence"],
        ["Traffic.Host.Api"],
        ["Traffic.Host.Ingest", "Traffic.Host.WebSockets", "Traffic.Host.Cluster"],
        [typeof(TrafficApp).FullName!],
        [typeof(TrafficProgram).FullName!],
    ];

    public static TheoryData<string, string> Layering()
    {
        var data = new TheoryData<string, string>();
        foreach (var layers in new[] { ActorLayers, HostLayers })
            for (var i = 0; i < layers.Length; i++)
                foreach (var name in layers[i])
                    if (Forbidden(layers, i, name).Any()) // the top layer may use everything
                        data.Add(name, string.Join(",", Forbidden(layers, i, name)));
        return data;
    }

    [Theory]
    [MemberData(nameof(Layering))]
    public void A_namespace_uses_only_lower_layers(string layer, string forbidden)
    {
        var assembly = layer.StartsWith("Traffic.Actors", StringComparison.Ordinal) ? typeof(Topic).Assembly : typeof(TrafficApp).Assembly;
        var result = TypesOf(assembly, layer).ShouldNot().HaveDependencyOnAny(forbidden.Split(',')).GetResult();
        Assert.True(result.IsSuccessful,
            $"{layer} uses a higher layer (one of {forbidden}): {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void The_actors_know_nothing_of_ASP_NET_Core_or_of_the_host()
    {
        var result = Types.InAssembly(typeof(Topic).Assembly).ShouldNot()
            .HaveDependencyOnAny("Microsoft.AspNetCore", "Traffic.Host").GetResult();
        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void Every_namespace_of_both_assemblies_has_a_layer()
    {
        var named = ActorLayers.Concat(HostLayers).SelectMany(l => l).ToHashSet();
        var unplaced = typeof(Topic).Assembly.GetTypes().Concat(typeof(TrafficApp).Assembly.GetTypes())
            .Where(t => t.Namespace?.StartsWith("Traffic.", StringComparison.Ordinal) == true && !t.Name.StartsWith('<'))
            .Where(t => !named.Any(n => t.FullName!.StartsWith(n, StringComparison.Ordinal)))
            .Select(t => t.FullName).ToList();
        Assert.True(unplaced.Count == 0, "types outside every layer: " + string.Join(", ", unplaced));
    }

    /// <summary>Everything above layer <paramref name="index"/>, and the other namespaces of its own layer.</summary>
    private static IEnumerable<string> Forbidden(string[][] layers, int index, string self) =>
        layers.Skip(index + 1).SelectMany(l => l).Concat(layers[index].Where(n => n != self));

    /// <summary>The types of one layer entry: a namespace (with its sub-namespaces) or one type.</summary>
    private static PredicateList TypesOf(Assembly assembly, string layer) =>
        assembly.GetType(layer) is { } type
            ? Types.InAssembly(assembly).That().HaveName(type.Name).And().ResideInNamespace(type.Namespace!)
            : Types.InAssembly(assembly).That().ResideInNamespace(layer);
}
