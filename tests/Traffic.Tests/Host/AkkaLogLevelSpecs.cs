using Akka.Event;
using Traffic.Host.Configuration;
using Traffic.Tests.Support;
using Xunit;

namespace Traffic.Tests.Host;

/// <summary>
/// Akka's log level follows the "Logging" configuration: Akka formats what its level lets through
/// before the category filters see it, so a level no category shows must be cut at Akka's.
/// </summary>
public sealed class AkkaLogLevelSpecs
{
    private static LogLevel From(params (string Key, string Value)[] settings) =>
        AkkaLogLevel.From(InMemoryConfiguration.Of(settings));

    [Fact]
    public void Nothing_configured_is_the_logging_default_information() =>
        Assert.Equal(LogLevel.InfoLevel, From());

    [Fact]
    public void The_shipped_settings_keep_information() =>
        Assert.Equal(LogLevel.InfoLevel, From(("Logging:LogLevel:Default", "Information"), ("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
            ("Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host", "Critical")));

    [Fact]
    public void Warning_everywhere_is_warning() =>
        Assert.Equal(LogLevel.WarningLevel, From(("Logging:LogLevel:Default", "Warning"), ("Logging:LogLevel:Microsoft.AspNetCore", "Critical")));

    [Fact]
    public void One_category_at_information_keeps_information() =>
        Assert.Equal(LogLevel.InfoLevel, From(("Logging:LogLevel:Default", "Warning"), ("Logging:LogLevel:Akka", "Information")));

    [Fact]
    public void A_provider_s_own_level_counts_too() =>
        Assert.Equal(LogLevel.InfoLevel, From(("Logging:LogLevel:Default", "Error"), ("Logging:Console:LogLevel:Traffic", "Information")));

    [Fact]
    public void Debug_does_not_turn_on_akka_s_debug() =>
        Assert.Equal(LogLevel.InfoLevel, From(("Logging:LogLevel:Default", "Debug")));

    [Fact]
    public void Error_critical_and_none_are_error() =>
        Assert.Equal(LogLevel.ErrorLevel, From(("Logging:LogLevel:Default", "Critical"), ("Logging:LogLevel:Other", "None"), ("Logging:LogLevel:Third", "Error")));

    [Fact]
    public void A_value_that_is_not_a_level_is_ignored() =>
        Assert.Equal(LogLevel.WarningLevel, From(("Logging:LogLevel:Default", "Warning"), ("Logging:LogLevel:Typo", "Verbose")));

    [Fact]
    [Trait("Speed", "Slow")]
    public async Task The_running_service_s_actor_system_uses_it()
    {
        await using (var quiet = await RunningService.StartAsync()) // Logging:LogLevel:Default = Warning
            Assert.Equal(LogLevel.WarningLevel, quiet.System.EventStream.LogLevel);
        await using var informed = await RunningService.StartAsync(new Dictionary<string, string?> { ["Logging:LogLevel:Traffic"] = "Information" });
        Assert.Equal(LogLevel.InfoLevel, informed.System.EventStream.LogLevel);
    }
}
