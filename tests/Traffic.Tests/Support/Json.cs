using System.Text.Json;

namespace Traffic.Tests.Support;

public static class Json
{
    public static string[] Strings(this JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static string Type(this JsonElement message) => message.GetProperty("type").GetString()!;
}
