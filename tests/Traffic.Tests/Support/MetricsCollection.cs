using Xunit;

namespace Traffic.Tests.Support;

/// <summary>
/// Specs that read exact values from /metrics run alone. OpenTelemetry's listener is process-wide:
/// with two hosts alive in one test process, the exporter of one may report the other's instruments
/// of the same name (a production process has one host, so only the specs meet this).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}
