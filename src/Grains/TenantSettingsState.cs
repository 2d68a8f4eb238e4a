using JowiShop.Grains.Abstractions;

namespace JowiShop.Grains;

/// <summary>The tenant grain's persisted document (state name "tenantSettings").</summary>
[GenerateSerializer, Alias("jowishop.TenantSettingsState")]
public sealed class TenantSettingsState
{
    [Id(0)] public TenantSettings Settings { get; set; } = TenantSettings.Default;

    /// <summary>Null until the tenant first changes its taxes: <see cref="TaxSettings.Defaults"/> meanwhile.</summary>
    [Id(1)] public TaxSettings? Taxes { get; set; }
}
