using System.Collections.Concurrent;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>The "RateLimits:Login" section: the per-login back-off of <see cref="LoginThrottle"/>.</summary>
public sealed class LoginThrottleSettings
{
    /// <summary>Failures in a row that cost nothing (typos).</summary>
    public int FreeFailures { get; set; } = 5;

    /// <summary>The wait after the first failure beyond the free ones; it doubles with each further failure.</summary>
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait: past ten doublings a guesser gets 4 tries an hour, about 100 a day.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A login with no failure for this long starts again from zero.</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Logins tracked at most (memory bound); past it, those not waiting are forgotten first.</summary>
    public int MaxTracked { get; set; } = 100_000;

    public void Validate()
    {
        if (FreeFailures < 0 || FirstDelay <= TimeSpan.Zero || MaxDelay < FirstDelay || ForgetAfter <= TimeSpan.Zero || MaxTracked < 1)
            throw new InvalidOperationException(
                $"{RateLimitSettings.Section}:Login needs FreeFailures >= 0, 0 < FirstDelay <= MaxDelay, a positive ForgetAfter and MaxTracked >= 1.");
    }
}

/// <summary>
/// Per-login back-off against password guessing spread over many addresses (the per-address limit
/// cannot see those): after <see cref="LoginThrottleSettings.FreeFailures"/> failures in a row, each
/// further failure makes the login wait <see cref="LoginThrottleSettings.FirstDelay"/>, doubling up to
/// <see cref="LoginThrottleSettings.MaxDelay"/>. A success clears it. A wait, not a lock-out: someone
/// who knows a user's login can delay that user's logins, never block them for longer than MaxDelay.
///
/// Use from the login handler, with the normalized login (lower-cased email or E.164 phone), for
/// unknown logins exactly as for known ones (so the throttle does not tell which logins exist):
/// <code>
/// if (throttle.RetryAfter(login) is { } wait) return RateLimits.Problem(http, wait);   // before hashing
/// ... verify ...
/// if (account is null) throttle.RecordFailure(login); else throttle.RecordSuccess(login);
/// </code>
/// Kept in this process's memory: each API front counts on its own.
/// </summary>
public sealed class LoginThrottle(LoginThrottleSettings settings, TimeProvider clock)
{
    private readonly record struct Entry(int Failures, DateTimeOffset LastFailure, DateTimeOffset WaitUntil);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly LoginThrottleSettings _settings = settings;

    /// <summary>Logins currently tracked (for tests and diagnostics).</summary>
    public int Tracked => _entries.Count;

    /// <summary>How long this login must wait before its next attempt; null when it may try now.</summary>
    public TimeSpan? RetryAfter(string login)
    {
        if (!_entries.TryGetValue(login, out var entry))
            return null;
        var wait = entry.WaitUntil - clock.GetUtcNow();
        return wait > TimeSpan.Zero ? wait : null;
    }

    /// <summary>A failed attempt (wrong password or unknown login): counts towards the back-off.</summary>
    public void RecordFailure(string login)
    {
        var now = clock.GetUtcNow();
        if (!_entries.ContainsKey(login) && _entries.Count >= _settings.MaxTracked)
            Prune(now);
        _entries.AddOrUpdate(login,
            static (_, state) => state.Self.Next(0, state.Now),
            static (_, entry, state) => state.Self.Next(state.Now - entry.LastFailure > state.Self._settings.ForgetAfter ? 0 : entry.Failures, state.Now),
            (Self: this, Now: now));
    }

    /// <summary>A successful login: the count starts again.</summary>
    public void RecordSuccess(string login) => _entries.TryRemove(login, out _);

    private Entry Next(int failuresBefore, DateTimeOffset now)
    {
        var failures = failuresBefore + 1;
        var beyond = failures - _settings.FreeFailures;
        if (beyond <= 0)
            return new Entry(failures, now, now);
        // FirstDelay x 2^(beyond - 1), capped; the exponent is capped before it can overflow.
        var delay = TimeSpan.FromTicks((long)Math.Min(_settings.FirstDelay.Ticks * Math.Pow(2, Math.Min(beyond - 1, 40)), _settings.MaxDelay.Ticks));
        return new Entry(failures, now, now + delay);
    }

    /// <summary>At the memory bound: forget logins that are not waiting; if all are, forget them all.</summary>
    private void Prune(DateTimeOffset now)
    {
        foreach (var (login, entry) in _entries)
            if (entry.WaitUntil <= now)
                _entries.TryRemove(login, out _);
        if (_entries.Count >= _settings.MaxTracked)
            _entries.Clear();
    }
}
