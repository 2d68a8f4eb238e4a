using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;

namespace JowiShop.ApiHost.Features.Products;

/// <summary>
/// Resolves a scan with one grain call: the barcode's directory shard holds the scan answers of
/// its barcodes (kept exact by the product grains' write-through), so no product grain is asked
/// or activated. There is nothing to remember here: a hint in the front could only be staler.
/// </summary>
public sealed class ScannedBarcodes(IGrainFactory grains)
{
    public Task<ScannedVariant?> ScanAsync(Guid tenantId, string barcode) =>
        grains.Reference<IBarcodeDirectoryGrain>(IBarcodeDirectoryGrain.Key(tenantId, barcode)).ScanAsync(barcode);
}
