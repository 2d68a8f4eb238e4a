using JowiShop.Grains.Abstractions;
using Npgsql;

namespace JowiShop.Grains.Persistence;

/// <summary>Turns driver exceptions into <see cref="DatabaseFailureException"/> at the grain boundary.</summary>
public static class DatabaseFailures
{
    public static DatabaseFailureException Translate(NpgsqlException e)
    {
        var sqlState = (e as PostgresException)?.SqlState;
        // Connection exceptions (08xxx) and operator intervention (57Pxx: shutdown, restart) pass.
        var transient = e.IsTransient || sqlState is not null && (sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("57P", StringComparison.Ordinal));
        return new DatabaseFailureException($"Database call failed: {e.Message}", transient, sqlState);
    }
}

/// <summary>Every grain call: a database failure leaves the grain as a <see cref="DatabaseFailureException"/>.</summary>
public sealed class DatabaseFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e);
        }
    }
}
