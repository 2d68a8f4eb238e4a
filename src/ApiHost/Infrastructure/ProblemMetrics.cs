using System.Diagnostics.Metrics;
using JowiShop.Grains.Telemetry;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>
/// Problem documents answered, by status and stable code (<c>jowishop.problems</c> in the
/// <c>JowiShop</c> meter): refusals by code, 429s and 503s by cause. Codes are constants of this
/// code base, so the label set is small and fixed; anything else is counted as <c>other</c>.
/// </summary>
public static class ProblemMetrics
{
    private static readonly Counter<long> Problems = JowiShopMetrics.Meter.CreateCounter<long>("jowishop.problems", "{response}",
        "Problem documents answered, by HTTP status and code.");

    // Status labels made once: no boxing per answer.
    private static readonly string[] StatusNames = Enumerable.Range(0, 600).Select(s => s.ToString()).ToArray();

    public static void Answered(int status, object? code)
    {
        if (!Problems.Enabled)
            return;
        var name = code is string { Length: > 0 and <= 64 } c ? c : "other";
        Problems.Add(1, new KeyValuePair<string, object?>("status", (uint)status < StatusNames.Length ? StatusNames[status] : "other"),
            new KeyValuePair<string, object?>("code", name));
    }
}
