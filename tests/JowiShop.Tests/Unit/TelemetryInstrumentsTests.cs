using System.Diagnostics.Metrics;
using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Telemetry;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Unit;

public sealed class TelemetryInstrumentsTests
{
    [Fact]
    public void Every_sale_outcome_has_its_own_label_value()
    {
        var names = Enum.GetValues<SaleOutcome>().Select(JowiShopMetrics.OutcomeName).ToArray();
        Assert.DoesNotContain("other", names);
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z_]+$", n));
    }

    [Fact]
    public void Refusals_are_labelled_by_a_small_known_set_of_codes()
    {
        Assert.Equal("JW001", JowiShopMetrics.RefusalCode(new PostgresException("fenced", "ERROR", "ERROR", "JW001")));
        Assert.Equal("JW003", JowiShopMetrics.RefusalCode(new PostgresException("no level row", "ERROR", "ERROR", "JW003")));
        Assert.Equal("unique_violation", JowiShopMetrics.RefusalCode(new PostgresException("dup", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation)));
        Assert.Equal("transient", JowiShopMetrics.RefusalCode(new PostgresException("shutdown", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)));
        Assert.Equal("other", JowiShopMetrics.RefusalCode(new PostgresException("check", "ERROR", "ERROR", PostgresErrorCodes.CheckViolation)));
        Assert.Equal("connection", JowiShopMetrics.RefusalCode(new TimeoutException()));
    }

    [Fact]
    public void A_sale_answered_counts_once_under_its_outcome_and_times_only_what_was_queued()
    {
        var counted = new List<(string Instrument, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == JowiShopMetrics.MeterName && instrument.Name is "jowishop.receipts" or "jowishop.receipt.duration")
                l.EnableMeasurementEvents(instrument);
        };
        // Other tests' store grains may record meanwhile: keep only this thread's measurements.
        var thread = Environment.CurrentManagedThreadId;
        void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (Environment.CurrentManagedThreadId == thread)
                counted.Add((instrument.Name, tags.ToArray().Single(t => t.Key == "outcome").Value as string));
        }
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Record(instrument, tags));
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, tags));
        listener.Start();

        JowiShopMetrics.SaleAnswered(SaleOutcome.Created, System.Diagnostics.Stopwatch.GetTimestamp());
        JowiShopMetrics.Counted(new SaleResult(SaleOutcome.Replayed));

        Assert.Equal([("jowishop.receipts", "created"), ("jowishop.receipt.duration", "created"), ("jowishop.receipts", "replayed")], counted);
    }

    [Theory]
    [InlineData(9464, 9464, true)]   // a connection to the management listener
    [InlineData(9464, 5000, false)]  // the API's own port
    [InlineData(null, 5000, false)]  // no management listener: only operators
    [InlineData(null, 0, false)]
    public async Task The_management_listener_admits_connections_by_their_local_port(int? managementPort, int localPort, bool admitted)
    {
        var http = new DefaultHttpContext();
        http.Connection.LocalPort = localPort;
        var requirement = new Telemetry.TelemetryAccess(managementPort);
        var context = new AuthorizationHandlerContext([requirement], new ClaimsPrincipal(new ClaimsIdentity()), http);
        await new Telemetry.ManagementListenerHandler().HandleAsync(context);
        Assert.Equal(admitted, context.HasSucceeded);
    }
}
