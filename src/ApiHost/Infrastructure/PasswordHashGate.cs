using Microsoft.AspNetCore.Diagnostics;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>The "RateLimits:PasswordHashing" section.</summary>
public sealed class PasswordHashingSettings
{
    /// <summary>Hashes computed at once; 0 (the default): one per processor.</summary>
    public int MaxConcurrent { get; set; }

    /// <summary>
    /// How long a request may wait for a slot before it is answered 503. About 2 s: with 2 cores and
    /// ~145 ms a hash, about 28 logins queued ahead of it (a shop's tills logging in together fit).
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(2);

    public int EffectiveMaxConcurrent => MaxConcurrent > 0 ? MaxConcurrent : Environment.ProcessorCount;

    public void Validate()
    {
        if (MaxConcurrent < 0 || MaxWait < TimeSpan.Zero)
            throw new InvalidOperationException($"{RateLimitSettings.Section}:PasswordHashing needs MaxConcurrent >= 0 and MaxWait >= 0.");
    }
}

/// <summary>
/// Bounds the password hashes (PBKDF2, ~145 ms of CPU each) computed at once, so that a burst of
/// logins from many addresses cannot take every core from the tills: beyond
/// <see cref="PasswordHashingSettings.EffectiveMaxConcurrent"/> hashes a request waits, and after
/// <see cref="PasswordHashingSettings.MaxWait"/> it fails with <see cref="PasswordHashingBusyException"/>,
/// answered 503 <c>service.busy</c> with Retry-After. 503 rather than 429: the cause is the server's
/// load, not this caller's rate (a legitimate user can hit it during someone else's flood); 503 says
/// "retry shortly, nothing happened", which clients and balancers already handle for this API.
/// </summary>
public sealed class PasswordHashGate(PasswordHashingSettings settings)
{
    private readonly SemaphoreSlim _slots = new(settings.EffectiveMaxConcurrent, settings.EffectiveMaxConcurrent);
    private readonly TimeSpan _maxWait = settings.MaxWait;

    /// <summary>Slots free now (for tests and diagnostics).</summary>
    public int FreeSlots => _slots.CurrentCount;

    /// <summary>Runs <paramref name="hash"/> (synchronous CPU work) once a slot is free.</summary>
    public async Task<T> RunAsync<T>(Func<T> hash, CancellationToken ct)
    {
        if (!await _slots.WaitAsync(_maxWait, ct))
            throw new PasswordHashingBusyException();
        try
        {
            return hash();
        }
        finally
        {
            _slots.Release();
        }
    }
}

/// <summary>Every password-hashing slot stayed taken for longer than the wait bound.</summary>
public sealed class PasswordHashingBusyException() : Exception("Every password-hashing slot is busy.");

/// <summary>Answers <see cref="PasswordHashingBusyException"/> with 503 <c>service.busy</c> and Retry-After.</summary>
public sealed class PasswordHashingBusyHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not PasswordHashingBusyException)
            return false;
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Service busy",
                Detail = "Too many logins are being checked at once; nothing was changed. Retry in a second.",
                Extensions = { ["code"] = "service.busy" },
            },
        });
    }
}
