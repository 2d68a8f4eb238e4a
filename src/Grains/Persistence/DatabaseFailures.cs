using JowiShop.Grains.Abstractions;
using Npgsql;

namespace JowiShop.Grains.Persistence;

/// <summary>Turns driver exceptions into <see cref="DatabaseFailureException"/> at the grain boundary.</summary>
public static class DatabaseFailures
{
    public static DatabaseFailureException Translate(NpgsqlException e) =>
        new($"Database call failed: {e.Message}", IsTransient(e), (e as PostgresException)?.SqlState);

    /// <summary>
    /// The database is unreachable or going away, not refusing this request: the caller may retry.
    /// Connection exceptions (08xxx) and operator intervention (57Pxx: shutdown, restart) count.
    /// </summary>
    public static bool IsTransient(NpgsqlException e) =>
        e.IsTransient || e is PostgresException { SqlState: var state }
            && (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal));

    /// <summary>
    /// PostgreSQL refusing a value the request carried: a byte sequence or character it cannot store
    /// (22021, 22P05), text too long (22001), a number or date out of range (22003, 22008). Not the
    /// rest of class 22 (a division by zero in our own SQL is our fault, not the client's).
    /// </summary>
    public static bool IsRefusedValue(string? sqlState) => sqlState is "22021" or "22P05" or "22001" or "22003" or "22008";
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
