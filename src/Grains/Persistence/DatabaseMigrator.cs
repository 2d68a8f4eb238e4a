using DbUp;
using Npgsql;

namespace JowiShop.Grains.Persistence;

/// <summary>
/// Applies the versioned SQL scripts in Persistence/Migrations (embedded, run in name order,
/// each in its own transaction, journaled in public.schemaversions) with DbUp.
/// </summary>
public static class DatabaseMigrator
{
    // Any fixed number: silos starting together take turns instead of racing DbUp's journal.
    private const long AdvisoryLockKey = 0x4A6F776953686F70; // "JowiShop"

    /// <summary>Creates the database if missing and applies pending scripts; returns their names.</summary>
    public static IReadOnlyList<string> Apply(string connectionString)
    {
        EnsureDatabase.For.PostgresqlDatabase(connectionString, new DbUp.Engine.Output.NoOpUpgradeLog());

        using var lockConnection = new NpgsqlConnection(connectionString);
        lockConnection.Open();
        using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", lockConnection))
            take.ExecuteNonQuery();
        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, name => name.Contains(".Persistence.Migrations."))
                .WithTransactionPerScript()
                .LogToNowhere()
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
                throw new InvalidOperationException($"Database migration failed in {result.ErrorScript?.Name}: {result.Error.Message}", result.Error);
            return result.Scripts.Select(s => s.Name).ToArray();
        }
        finally
        {
            using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", lockConnection);
            release.ExecuteNonQuery();
        }
    }
}
