using JowiShop.Grains.Persistence;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Database;

public sealed class MigrationTests
{
    [Fact]
    public async Task Migrations_apply_once_and_are_idempotent()
    {
        var postgres = await LocalServices.CreateDatabaseAsync("migrate");
        var first = DatabaseMigrator.Apply(postgres);
        Assert.Contains(first, s => s.EndsWith("0001_domain_schema.sql", StringComparison.Ordinal));
        Assert.Contains(first, s => s.EndsWith("0002_orleans_grain_storage.sql", StringComparison.Ordinal));
        Assert.Empty(DatabaseMigrator.Apply(postgres));
    }

    [Fact]
    public async Task Orleans_storage_queries_are_registered_once_each()
    {
        var postgres = await LocalServices.CreateDatabaseAsync("migrate");
        DatabaseMigrator.Apply(postgres);
        await using var db = NpgsqlDataSource.Create(postgres);
        await using var cmd = db.CreateCommand("SELECT querykey FROM orleansquery ORDER BY querykey");
        var keys = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                keys.Add(reader.GetString(0));
        Assert.Equal(["ClearStorageKey", "ReadFromStorageKey", "WriteToStorageKey"], keys);
    }

    [Theory]
    [InlineData("stores", "ix_stores_tenant_name")]
    [InlineData("customers", "ux_customers_tenant_phone")]
    [InlineData("customers", "ux_customers_tenant_card")]
    [InlineData("product_variants", "ux_variants_tenant_sku")]
    [InlineData("variant_barcodes", "ux_barcodes_tenant_barcode")]
    [InlineData("employees", "ux_employees_tenant_user")]
    public async Task Seed_lookup_indexes_are_tenant_scoped_and_partial(string table, string index)
    {
        var postgres = await LocalServices.CreateDatabaseAsync("migrate");
        DatabaseMigrator.Apply(postgres);
        await using var db = NpgsqlDataSource.Create(postgres);
        await using var cmd = db.CreateCommand("SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2");
        cmd.Parameters.AddWithValue(table);
        cmd.Parameters.AddWithValue(index);
        var definition = (string?)await cmd.ExecuteScalarAsync();
        Assert.NotNull(definition);
        Assert.Contains("(tenant_id,", definition);
        Assert.Matches(@"WHERE \(+deleted_at IS NULL\)", definition);
    }

    [Fact]
    public async Task Receipt_numbers_are_unique_per_tenant_and_store()
    {
        var postgres = await LocalServices.CreateDatabaseAsync("migrate");
        DatabaseMigrator.Apply(postgres);
        await using var db = NpgsqlDataSource.Create(postgres);
        await using var cmd = db.CreateCommand(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'receipts'::regclass AND contype = 'u'");
        var constraints = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                constraints.Add(reader.GetString(0));
        Assert.Contains("UNIQUE (tenant_id, store_id, receipt_number)", constraints);
    }
}
