using System.Collections.Concurrent;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;

namespace JowiShop.ApiHost.Features.Products;

/// <summary>
/// Resolves a scan to its variant with one grain call when this front has seen the barcode
/// before: it remembers which product grain answered, and asks that grain directly. The hint
/// cannot serve a stale answer: the product grain owns its variants' barcodes, so an answer
/// whose variant no longer carries the barcode (moved, deleted) is dropped and the tenant's
/// barcode directory is asked instead. Bounded by clearing past a million entries.
/// </summary>
public sealed class ScannedBarcodes(IGrainFactory grains)
{
    private const int MaxEntries = 1_000_000;
    private readonly ConcurrentDictionary<(Guid Tenant, string Barcode), BarcodeTarget> _targets = new();

    public async Task<ScannedVariant?> ScanAsync(Guid tenantId, string barcode)
    {
        if (_targets.TryGetValue((tenantId, barcode), out var hint))
        {
            if (await VariantAsync(tenantId, hint, barcode) is { } scanned)
                return scanned;
            _targets.TryRemove((tenantId, barcode), out _);
        }

        var target = await grains.Reference<IBarcodeDirectoryGrain>(IBarcodeDirectoryGrain.Key(tenantId, barcode)).ResolveAsync(barcode);
        if (target is not { } t || await VariantAsync(tenantId, t, barcode) is not { } found)
            return null;
        if (_targets.Count >= MaxEntries)
            _targets.Clear();
        _targets[(tenantId, barcode)] = t;
        return found;
    }

    private async Task<ScannedVariant?> VariantAsync(Guid tenantId, BarcodeTarget target, string barcode) =>
        await grains.Reference<IProductGrain>(target.ProductId, tenantId.ToString()).GetVariantAsync(target.VariantId) is { } scanned
            && scanned.Variant.Barcodes.Contains(barcode)
            ? scanned
            : null;
}
