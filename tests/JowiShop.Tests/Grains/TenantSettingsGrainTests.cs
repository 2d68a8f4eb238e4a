using JowiShop.Grains.Abstractions;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Grains;

public sealed class TenantSettingsGrainTests
{
    [Fact]
    public async Task Settings_are_written_read_back_and_survive_a_cluster_restart()
    {
        var postgres = await GrainClusters.CreateMigratedDatabaseAsync("settings");
        var tenantId = Guid.NewGuid();
        var changed = new TenantSettings("USD", "Asia/Samarkand", NegativeStockPolicy.Refuse, DiscountLimits.Default);

        var first = await GrainClusters.StartAsync(postgres, "settings-test");
        try
        {
            var grain = first.Client.GetGrain<ITenantGrain>(tenantId);
            Assert.Equal(TenantSettings.Default, await grain.GetSettingsAsync());
            await grain.UpdateSettingsAsync(changed);
            Assert.Equal(changed, await grain.GetSettingsAsync());
        }
        finally
        {
            await first.StopAllSilosAsync();
            await first.DisposeAsync();
        }

        // Every silo is gone: the only copy left is the row in PostgreSQL.
        await using (var db = NpgsqlDataSource.Create(postgres))
        await using (var cmd = db.CreateCommand(
            "SELECT count(*) FROM orleansstorage WHERE graintypestring = 'tenantSettings' AND serviceid = 'settings-test' AND payloadbinary IS NOT NULL"))
            Assert.Equal(1L, (long)(await cmd.ExecuteScalarAsync())!);

        var second = await GrainClusters.StartAsync(postgres, "settings-test");
        try
        {
            var grain = second.Client.GetGrain<ITenantGrain>(tenantId);
            Assert.Equal(changed, await grain.GetSettingsAsync());

            // And it keeps writing on top of the stored version after reactivation.
            var again = changed with { Currency = "UZS" };
            await grain.UpdateSettingsAsync(again);
            await second.DeactivateAsync(((GrainReference)grain).GrainId);
            Assert.Equal(again, await second.Client.GetGrain<ITenantGrain>(tenantId).GetSettingsAsync());
        }
        finally
        {
            await second.StopAllSilosAsync();
            await second.DisposeAsync();
        }
    }
}
