using System.Collections.Concurrent;
using System.Reflection;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace JowiShop.Silo;

/// <summary>
/// Calls to read-only grain methods (<see cref="ReadOnlyAttribute"/>) that are refused because
/// the target silo is stopping or gone are sent again, up to twice: a read has no effect to
/// duplicate, and the runtime places the grain anew. This is what keeps a graceful silo shutdown
/// invisible to tills. Writes are not retried here; sales retry by id in the receipt endpoint.
/// </summary>
public sealed class ReadRetryFilter : IOutgoingGrainCallFilter
{
    private const int Attempts = 3;
    // Every grain call passes here (scans, receipts): look the attribute up once per method.
    private static readonly ConcurrentDictionary<MethodInfo, bool> ReadOnlyMethods = new();

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var method = context.InterfaceMethod;
        if (method is null || !ReadOnlyMethods.GetOrAdd(method, m => m.GetCustomAttribute<ReadOnlyAttribute>() is not null))
        {
            await context.Invoke();
            return;
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await context.Invoke();
                return;
            }
            catch (OrleansMessageRejectionException) when (attempt < Attempts)
            {
                // SiloUnavailableException derives from it: "silo stopping", "target silo unavailable".
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }
}
