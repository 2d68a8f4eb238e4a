using Npgsql;

namespace JowiShop.Grains.Persistence;

/// <summary>Positional parameters ($1, $2, ...) for hand-written SQL.</summary>
public static class Sql
{
    /// <summary>A batch command whose parameters are the values in order.</summary>
    public static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        Add(command.Parameters, values);
        return command;
    }

    /// <summary>
    /// Adds the values as positional parameters: null becomes SQL NULL, and a value that is already an
    /// <see cref="NpgsqlParameter"/> (a typed NULL, say) is added as it is.
    /// </summary>
    public static void Add(NpgsqlParameterCollection parameters, params object?[] values)
    {
        foreach (var value in values)
            parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value ?? DBNull.Value });
    }
}
