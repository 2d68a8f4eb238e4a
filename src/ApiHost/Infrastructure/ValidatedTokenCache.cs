using System.Collections.Concurrent;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// A till sends the same bearer token with every request for hours. This handler validates a token
/// (signature, issuer, audience, lifetime) the first time it is seen and then answers from memory
/// until the token expires: a third of all allocations per request went into validating again.
/// Keyed by the exact token string, so nothing unvalidated is ever accepted; bounded in size. The
/// validation parameters are the application's fixed ones, so a hit does not re-read them.
/// </summary>
public sealed class ValidatedTokenCache(TimeProvider clock) : JsonWebTokenHandler
{
    private const int Capacity = 20_000;
    private readonly ConcurrentDictionary<string, (TokenValidationResult Result, DateTime ValidTo)> _validated = new(StringComparer.Ordinal);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_validated.TryGetValue(token, out var hit))
        {
            if (now < hit.ValidTo)
                return hit.Result;
            _validated.TryRemove(token, out _);
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
        {
            if (_validated.Count >= Capacity)
                _validated.Clear(); // rare (20,000 live tokens); re-validating is only slower
            // Expired means expired: no clock skew granted to a cached entry.
            _validated[token] = (result, jwt.ValidTo);
        }
        return result;
    }
}
