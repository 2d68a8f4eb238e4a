namespace JowiShop.Silo;

/// <summary>The "Orleans" configuration section shared by every host.</summary>
public sealed class ClusterSettings
{
    public const string Section = "Orleans";

    public string ClusterId { get; set; } = "jowishop-dev";
    public string ServiceId { get; set; } = "jowishop";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    /// <summary>The address other silos and clients reach this silo at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
    /// <summary>Redis logical database holding the membership table.</summary>
    public int RedisDatabase { get; set; } = 0;
}
