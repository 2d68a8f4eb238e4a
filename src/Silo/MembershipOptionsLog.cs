using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace JowiShop.Silo;

/// <summary>
/// Logs the failure-detection settings in effect when the silo starts: how fast a dead silo is
/// declared dead is an operational promise, so the log says what it is.
/// </summary>
internal sealed class MembershipOptionsLog(IOptions<ClusterMembershipOptions> membership, IOptions<SiloMessagingOptions> messaging,
    ILogger<MembershipOptionsLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var m = membership.Value;
        logger.LogInformation(
            "Failure detection: probe timeout {ProbeTimeout}, {Missed} missed probes to suspect, {Votes} votes to declare dead, indirect probes {Indirect}, " +
            "I-am-alive every {IAmAlive}; grain call timeout {CallTimeout}",
            m.ProbeTimeout, m.NumMissedProbesLimit, m.NumVotesForDeathDeclaration, m.EnableIndirectProbes, m.IAmAliveTablePublishTimeout,
            messaging.Value.ResponseTimeout);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
