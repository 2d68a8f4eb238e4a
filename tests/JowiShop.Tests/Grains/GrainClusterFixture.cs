using JowiShop.Grains.Persistence;
using JowiShop.Silo;
using JowiShop.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace JowiShop.Tests.Grains;

/// <summary>
/// Builds in-process Orleans test clusters whose silos run the real grains against a real,
/// migrated PostgreSQL database (test membership; Redis clustering needs real processes).
/// </summary>
public static class GrainClusters
{
    public static async Task<string> CreateMigratedDatabaseAsync(string prefix)
    {
        var connectionString = await LocalServices.CreateDatabaseAsync(prefix);
        DatabaseMigrator.Apply(connectionString);
        return connectionString;
    }

    public static async Task<InProcessTestCluster> StartAsync(string postgres, string serviceId, short silos = 2)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ServiceId = serviceId;
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = postgres })
            .Build();
        builder.ConfigureSilo((_, silo) => silo.AddJowiShopGrains(configuration));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
