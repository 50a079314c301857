using System.Text;

namespace Traffic.Actors.Protocol;

/// <summary>
/// Text that came from a client (a topic name in the URL, a close reason, a request line), made
/// safe for one log line: control characters escaped (a client cannot forge a line of its own, nor
/// hide one with a carriage return), and cut after <c>max</c> characters with a count of the rest.
/// </summary>
public static class ClientText
{
    public const int DefaultMax = 120;

    public static string Safe(string? text, int max = DefaultMax)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        var shown = text.Length > max ? text[..max] : text;
        if (!shown.Any(char.IsControl) && shown.Length == text.Length) return text;
        var safe = new StringBuilder(shown.Length + 16);
        foreach (var c in shown)
        {
            if (!char.IsControl(c)) safe.Append(c);
            else safe.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
        }
        if (text.Length > max) safe.Append($"...({text.Length - max} more)");
        return safe.ToString();
    }
}
