using JowiShop.Grains.Abstractions;
using JowiShop.Silo;
using Microsoft.Extensions.Configuration;
using Orleans.Runtime;
using Orleans.TestingHost;
using Xunit;

namespace JowiShop.Tests.Grains;

/// <summary>
/// The read retry must really send a read again through Orleans' filter chain (a second
/// Invoke() on the same call context) and must leave writes alone.
/// </summary>
public sealed class ReadRetryFilterTests
{
    [Fact]
    public async Task A_refused_read_is_sent_again_and_a_refused_write_is_not()
    {
        var postgres = await GrainClusters.CreateMigratedDatabaseAsync("retry");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = postgres })
            .Build();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddJowiShopGrains(configuration));
        // Registered after the retry filter, so it sits between it and the network.
        builder.ConfigureClient(client => client.AddOutgoingGrainCallFilter<ReadRetryFilter>().AddOutgoingGrainCallFilter<RefuseFirstCall>());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var tenant = cluster.Client.GetGrain<ITenantGrain>(Guid.NewGuid());
            var settings = await tenant.GetSettingsAsync();
            Assert.Equal(TenantSettings.Default, settings);
            Assert.Equal(2, RefuseFirstCall.Calls(nameof(ITenantGrain.GetSettingsAsync)));

            await Assert.ThrowsAsync<SiloUnavailableException>(() => tenant.UpdateSettingsAsync(settings));
            Assert.Equal(1, RefuseFirstCall.Calls(nameof(ITenantGrain.UpdateSettingsAsync)));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>Refuses the first call of each method as a stopping silo would, then lets calls through.</summary>
    private sealed class RefuseFirstCall : IOutgoingGrainCallFilter
    {
        private static readonly Dictionary<string, int> Counts = [];

        public static int Calls(string method)
        {
            lock (Counts)
                return Counts.GetValueOrDefault(method);
        }

        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.InterfaceType.ToString().Contains("tenant", StringComparison.OrdinalIgnoreCase) is false)
                return context.Invoke();
            int count;
            lock (Counts)
                count = Counts[context.MethodName] = Counts.GetValueOrDefault(context.MethodName) + 1;
            return count == 1 ? throw new SiloUnavailableException("silo stopping (injected)") : context.Invoke();
        }
    }
}
