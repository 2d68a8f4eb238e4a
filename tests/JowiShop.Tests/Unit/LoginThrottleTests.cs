using JowiShop.ApiHost.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace JowiShop.Tests.Unit;

public sealed class LoginThrottleTests
{
    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private static readonly LoginThrottleSettings Settings = new()
    {
        FreeFailures = 3,
        FirstDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(30),
        ForgetAfter = TimeSpan.FromHours(1),
        MaxTracked = 1000,
    };

    [Fact]
    public void The_free_failures_cost_nothing_then_each_failure_doubles_the_wait_up_to_the_cap()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(Settings, clock);
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(throttle.RetryAfter("a@example.com"));
            throttle.RecordFailure("a@example.com");
        }
        Assert.Null(throttle.RetryAfter("a@example.com"));

        var expected = new[] { 1, 2, 4, 8, 16, 30, 30 };
        foreach (var seconds in expected)
        {
            throttle.RecordFailure("a@example.com");
            Assert.Equal(TimeSpan.FromSeconds(seconds), throttle.RetryAfter("a@example.com"));
            clock.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
            Assert.Equal(TimeSpan.FromMilliseconds(1), throttle.RetryAfter("a@example.com"));
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Null(throttle.RetryAfter("a@example.com"));
        }
    }

    [Fact]
    public void Logins_are_counted_separately_and_a_success_starts_again()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(Settings, clock);
        for (var i = 0; i < 4; i++)
            throttle.RecordFailure("a@example.com");
        Assert.NotNull(throttle.RetryAfter("a@example.com"));
        Assert.Null(throttle.RetryAfter("+998901234567"));

        throttle.RecordSuccess("a@example.com");
        Assert.Null(throttle.RetryAfter("a@example.com"));
        for (var i = 0; i < 3; i++)
            throttle.RecordFailure("a@example.com");
        Assert.Null(throttle.RetryAfter("a@example.com")); // free failures again
    }

    [Fact]
    public void A_login_without_failures_for_the_forget_period_starts_from_zero()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(Settings, clock);
        for (var i = 0; i < 8; i++)
        {
            throttle.RecordFailure("a@example.com");
            clock.Advance(TimeSpan.FromSeconds(31));
        }
        clock.Advance(Settings.ForgetAfter);
        throttle.RecordFailure("a@example.com");
        Assert.Null(throttle.RetryAfter("a@example.com"));
    }

    [Fact]
    public void Memory_is_bounded_and_waiting_logins_are_kept_longest()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(new LoginThrottleSettings { FreeFailures = 1, MaxTracked = 10 }, clock);
        throttle.RecordFailure("guessed");
        throttle.RecordFailure("guessed");
        Assert.NotNull(throttle.RetryAfter("guessed"));
        for (var i = 0; i < 100; i++)
            throttle.RecordFailure($"sprayed-{i}");
        Assert.True(throttle.Tracked <= 10, $"{throttle.Tracked} logins tracked");
        Assert.NotNull(throttle.RetryAfter("guessed"));
    }

}

public sealed class PasswordHashGateTests
{
    [Fact]
    public async Task The_gate_refuses_when_every_slot_stays_busy_past_the_wait_bound()
    {
        var gate = new PasswordHashGate(new PasswordHashingSettings { MaxConcurrent = 1, MaxWait = TimeSpan.Zero });
        using var release = new ManualResetEventSlim();
        var busy = Task.Run(() => gate.RunAsync(() => release.Wait(TimeSpan.FromMinutes(1)), CancellationToken.None));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (gate.FreeSlots > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(0, gate.FreeSlots);

        await Assert.ThrowsAsync<PasswordHashingBusyException>(() => gate.RunAsync(() => 1, CancellationToken.None));
        release.Set();
        Assert.True(await busy);
        Assert.Equal(2, await gate.RunAsync(() => 2, CancellationToken.None));
    }

    [Fact]
    public async Task A_busy_gate_is_answered_503_service_busy_with_Retry_After()
    {
        await using var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services, Response = { Body = new MemoryStream() } };
        var handler = new PasswordHashingBusyHandler(services.GetRequiredService<IProblemDetailsService>());

        Assert.False(await handler.TryHandleAsync(http, new InvalidOperationException(), CancellationToken.None));
        Assert.True(await handler.TryHandleAsync(http, new PasswordHashingBusyException(), CancellationToken.None));
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        Assert.Equal("1", http.Response.Headers.RetryAfter.ToString());
        http.Response.Body.Position = 0;
        var problem = System.Text.Json.JsonDocument.Parse(http.Response.Body).RootElement;
        Assert.Equal("service.busy", problem.GetProperty("code").GetString());
    }
}
