namespace JowiShop.Silo;

/// <summary>The "Orleans" configuration section shared by every host.</summary>
public sealed class ClusterSettings
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "jowishop-dev";
    public string ServiceId { get; set; } = "jowishop";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    /// <summary>The address other silos and clients reach this silo at; "auto": the host's first non-loopback IPv4 address.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
    /// <summary>Redis logical database holding the membership table.</summary>
    public int RedisDatabase { get; set; } = 0;
    /// <summary>
    /// How long a grain call may wait for its answer (Orleans' default is 30 s). A front's call in flight to a
    /// silo that dies ends by this timeout at the latest (the gateway does not fail it sooner: dotnet/orleans#10165),
    /// so a till gets a 503 and retries instead of hanging.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
