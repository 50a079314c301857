using Microsoft.Extensions.Configuration;
using AkkaLevel = Akka.Event.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Traffic.Host.Configuration;

/// <summary>
/// Akka's own log level (<c>akka.loglevel</c>), taken from the "Logging" configuration: the most
/// verbose level any category or provider is given there, but never below Information (Akka's
/// DEBUG stays off, as it always was). Akka builds and formats every event its level lets through
/// before Microsoft.Extensions.Logging filters it by category; cutting at Akka's level what no
/// category would show spares that work (with Default=Warning: two log events per connection).
/// </summary>
public static class AkkaLogLevel
{
    public static AkkaLevel From(IConfiguration configuration)
    {
        var mostVerbose = LogLevel.None;
        var any = false;
        // Logging:LogLevel:<category> and Logging:<provider>:LogLevel:<category>.
        foreach (var (key, value) in configuration.GetSection("Logging").AsEnumerable())
        {
            var path = key.Split(':');
            if (path.Length < 3 || !path[^2].Equals("LogLevel", StringComparison.OrdinalIgnoreCase)) continue;
            if (!Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level)) continue;
            any = true;
            if (level < mostVerbose) mostVerbose = level;
        }
        if (!any) mostVerbose = LogLevel.Information; // the logging default when nothing is configured
        return mostVerbose switch
        {
            <= LogLevel.Information => AkkaLevel.InfoLevel,
            LogLevel.Warning => AkkaLevel.WarningLevel,
            _ => AkkaLevel.ErrorLevel,
        };
    }
}
