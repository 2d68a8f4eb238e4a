using JowiShop.Grains.Abstractions;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace JowiShop.Grains;

/// <inheritdoc cref="IClusterViewGrain"/>
[StatelessWorker(1)]
public sealed class ClusterViewGrain(IClusterMembershipService membership, ILocalSiloDetails silo) : Grain, IClusterViewGrain
{
    public Task<ClusterView> GetAsync()
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.Endpoint.ToString())
            .Order()
            .ToList();
        return Task.FromResult(new ClusterView(silo.SiloAddress.Endpoint.ToString(), active));
    }
}
