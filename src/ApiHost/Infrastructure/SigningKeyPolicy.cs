namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// What a signing key must be outside Development: not a key that was ever published (anyone who has
/// read this repository could mint owner tokens with it), and not guessable. Generate one with
/// <c>openssl rand -base64 48</c>.
/// </summary>
public static class SigningKeyPolicy
{
    /// <summary>
    /// Keys that are, or were, in this repository: the development key and the Kubernetes manifest's
    /// old placeholder. Add any key that is ever committed, anywhere.
    /// </summary>
    public static readonly IReadOnlySet<string> Published = new HashSet<string>(StringComparer.Ordinal)
    {
        JwtSettings.DevelopmentSigningKey,
        "change-me-to-at-least-32-random-bytes-base64",
    };

    /// <summary>Words that mark a placeholder or a human-chosen key (case-insensitive).</summary>
    private static readonly string[] PlaceholderWords =
        ["change", "replace", "placeholder", "example", "secret", "password", "development", "do-not-use", "jowishop", "signing-key"];

    /// <summary>
    /// The least estimated entropy: 128 bits. A random base64 key of 32 bytes (44 characters) estimates
    /// at about 215 bits, of 48 bytes at about 330; 32 repeated or counting characters at well under 128.
    /// </summary>
    public const double MinimumEntropyBits = 128;

    /// <summary>Why this key is refused outside Development, or null when it is acceptable.</summary>
    public static string? Problem(string key)
    {
        if (Published.Contains(key.Trim()))
            return "is a key published in the JowiShop repository";
        var lower = key.ToLowerInvariant();
        if (PlaceholderWords.FirstOrDefault(lower.Contains) is { } word)
            return $"looks like a placeholder or a chosen phrase (contains \"{word}\")";
        var bits = EstimatedEntropyBits(key);
        if (bits < MinimumEntropyBits)
            return $"has too little entropy (about {bits:0} bits estimated, {MinimumEntropyBits:0} needed)";
        return null;
    }

    /// <summary>
    /// A deliberately rough estimate: the key's length times the Shannon entropy of its characters'
    /// frequencies, with runs (aaaa, 1234, abcd) counted as one character each. It cannot prove a key
    /// random; it catches the keys people type.
    /// </summary>
    public static double EstimatedEntropyBits(string key)
    {
        var symbols = new List<string>();
        var runes = key.EnumerateRunes().Select(r => r.Value).ToArray();
        for (var i = 0; i < runes.Length;)
        {
            var step = i + 1 < runes.Length ? runes[i + 1] - runes[i] : 0;
            var end = i + 1;
            if (step is -1 or 0 or 1)
                while (end < runes.Length && runes[end] - runes[end - 1] == step)
                    end++;
            // A run of 3 or more counts once; shorter stretches count character by character.
            if (end - i >= 3)
            {
                symbols.Add(string.Concat(runes[i..end].Select(char.ConvertFromUtf32)));
                i = end;
            }
            else
            {
                symbols.Add(char.ConvertFromUtf32(runes[i]));
                i++;
            }
        }
        if (symbols.Count == 0)
            return 0;
        var perSymbol = symbols.GroupBy(s => s, StringComparer.Ordinal)
            .Sum(g => { var p = (double)g.Count() / symbols.Count; return -p * Math.Log2(p); });
        return perSymbol * symbols.Count;
    }
}
