namespace JowiShop.Grains.Abstractions;

/// <summary>
/// A silo's own view of the cluster, answered from memory by the silo that receives the call (a
/// stateless worker, so a front's call lands on its gateway). Unlike the management grain's host
/// list it does not read the membership table, so it answers while Redis is down.
/// </summary>
public interface IClusterViewGrain : IGrainWithIntegerKey
{
    /// <summary>The silos this silo currently believes active, itself included.</summary>
    Task<ClusterView> GetAsync();
}

[GenerateSerializer, Immutable]
public sealed record ClusterView([property: Id(0)] string AnsweringSilo, [property: Id(1)] IReadOnlyList<string> ActiveSilos);
