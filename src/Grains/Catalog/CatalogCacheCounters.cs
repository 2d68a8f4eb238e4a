using JowiShop.Grains.Telemetry;

namespace JowiShop.Grains.Catalog;

/// <summary>
/// This silo's barcode cache counters (a singleton in the silo's services), read by
/// GET /api/v1/health/cache. Hits and misses are barcode resolutions from memory or from
/// PostgreSQL; evictions are product grains deactivated (idle collection) plus unknown-barcode
/// entries dropped from the bounded negative cache.
/// </summary>
public sealed class CatalogCacheCounters
{
    private long _hits, _misses, _unknownHits, _evictions, _activeProducts;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long UnknownHits => Interlocked.Read(ref _unknownHits);
    public long Evictions => Interlocked.Read(ref _evictions);
    public long ActiveProductGrains => Interlocked.Read(ref _activeProducts);

    // The same events for the metrics exporter (JowiShopMetrics), process-wide.
    public void Hit()
    {
        Interlocked.Increment(ref _hits);
        JowiShopMetrics.BarcodeHit();
    }

    public void Miss()
    {
        Interlocked.Increment(ref _misses);
        JowiShopMetrics.BarcodeMiss();
    }

    public void UnknownHit()
    {
        Interlocked.Increment(ref _unknownHits);
        JowiShopMetrics.BarcodeUnknownHit();
    }

    public void Evicted(long count = 1)
    {
        Interlocked.Add(ref _evictions, count);
        JowiShopMetrics.ProductGrainEvictions.Add(count);
    }

    public void ProductActivated()
    {
        Interlocked.Increment(ref _activeProducts);
        JowiShopMetrics.ActiveProductGrains.Add(1);
    }

    public void ProductDeactivated()
    {
        Interlocked.Decrement(ref _activeProducts);
        JowiShopMetrics.ActiveProductGrains.Add(-1);
        Evicted();
    }
}
