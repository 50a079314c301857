using Microsoft.Extensions.Configuration;

namespace Traffic.Tests.Support;

/// <summary>Settings given as name/value pairs, read as the host reads its configuration.</summary>
public static class InMemoryConfiguration
{
    /// <summary>A later setting of the same name wins (as a later environment variable would).</summary>
    public static IConfiguration Of(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.GroupBy(s => s.Key).Select(g => KeyValuePair.Create(g.Key, (string?)g.Last().Value)))
            .Build();
}
