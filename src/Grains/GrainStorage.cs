namespace JowiShop.Grains;

/// <summary>Names of the grain storage providers the silo registers.</summary>
public static class GrainStorage
{
    /// <summary>The ADO.NET provider on PostgreSQL, for grain state that is a document.</summary>
    public const string Name = "jowishop";
}
