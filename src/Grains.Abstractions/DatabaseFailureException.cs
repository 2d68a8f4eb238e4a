namespace JowiShop.Grains.Abstractions;

/// <summary>
/// A grain's database call failed. Grains throw this in place of the driver's exception, which
/// Orleans cannot serialize to the caller (it would arrive as a serializer error, i.e. a 500).
/// Transient failures (connection lost, server shutting down) are the caller's 503: retry later.
/// </summary>
[GenerateSerializer]
public sealed class DatabaseFailureException : Exception
{
    public DatabaseFailureException(string message, bool isTransient, string? sqlState) : base(message)
    {
        IsTransient = isTransient;
        SqlState = sqlState;
    }

    [Id(0)] public bool IsTransient { get; }
    [Id(1)] public string? SqlState { get; }
}
