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

    public void Hit() => Interlocked.Increment(ref _hits);
    public void Miss() => Interlocked.Increment(ref _misses);
    public void UnknownHit() => Interlocked.Increment(ref _unknownHits);
    public void Evicted(long count = 1) => Interlocked.Add(ref _evictions, count);
    public void ProductActivated() => Interlocked.Increment(ref _activeProducts);

    public void ProductDeactivated()
    {
        Interlocked.Decrement(ref _activeProducts);
        Evicted();
    }
}
