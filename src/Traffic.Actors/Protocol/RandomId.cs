namespace Traffic.Actors.Protocol;

/// <summary>Short random ids of lower-case base-36 characters ([0-9a-z]): stream epochs, node tags in client ids.</summary>
public static class RandomId
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";

    public static string Base36(int length) =>
        string.Create(length, 0, (chars, _) =>
        {
            for (var i = 0; i < chars.Length; i++) chars[i] = Digits[Random.Shared.Next(Digits.Length)];
        });
}
