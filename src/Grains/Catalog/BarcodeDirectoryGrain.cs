using JowiShop.Grains.Abstractions.Catalog;
using Npgsql;
using Orleans.Concurrency;

namespace JowiShop.Grains.Catalog;

/// <summary>
/// One shard of a tenant's barcode → variant map. Known barcodes stay mapped while the shard is
/// active; unknown ones are remembered in a bounded set so repeated bad scans cost no query and
/// no activation. Product grains call Map/Unmap after committing a barcode change and before
/// answering, so the next scan from any silo resolves to the new variant.
/// </summary>
[Reentrant]
public sealed class BarcodeDirectoryGrain(NpgsqlDataSource db, CatalogCacheCounters counters) : Grain, IBarcodeDirectoryGrain
{
    private const int MaxUnknown = 4096;

    private readonly Dictionary<string, BarcodeTarget> _known = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unknown = new(StringComparer.Ordinal);
    private readonly Queue<string> _unknownOrder = new();
    // Bumped by every Map/Unmap: a lookup that raced a write does not cache its (older) answer.
    private long _epoch;
    private Guid _tenantId;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = Guid.ParseExact(this.GetPrimaryKeyString().Split('/')[0], "N");
        return Task.CompletedTask;
    }

    public async Task<BarcodeTarget?> ResolveAsync(string barcode)
    {
        while (true)
        {
            if (_known.TryGetValue(barcode, out var target))
            {
                counters.Hit();
                return target;
            }
            if (_unknown.Contains(barcode))
            {
                counters.UnknownHit();
                return null;
            }

            counters.Miss();
            var epoch = _epoch;
            var found = await LookupAsync(barcode);
            if (epoch != _epoch)
                continue; // a write landed meanwhile: ask again rather than cache a stale answer
            if (found is { } hit)
                _known[barcode] = hit;
            else
                RememberUnknown(barcode);
            return found;
        }
    }

    public Task MapAsync(IReadOnlyList<string> barcodes, BarcodeTarget target)
    {
        _epoch++;
        foreach (var barcode in barcodes)
        {
            _known[barcode] = target;
            _unknown.Remove(barcode);
        }
        return Task.CompletedTask;
    }

    public Task UnmapAsync(IReadOnlyList<string> barcodes)
    {
        _epoch++;
        foreach (var barcode in barcodes)
            _known.Remove(barcode);
        return Task.CompletedTask;
    }

    private void RememberUnknown(string barcode)
    {
        if (!_unknown.Add(barcode))
            return;
        _unknownOrder.Enqueue(barcode);
        while (_unknownOrder.Count > MaxUnknown)
        {
            if (_unknown.Remove(_unknownOrder.Dequeue()))
                counters.Evicted();
        }
    }

    // A (tenant_id, barcode) index of live barcodes, then the variant by primary key.
    internal const string LookupSql =
        """
        SELECT v.product_id, b.variant_id
        FROM variant_barcodes b
        JOIN product_variants v ON v.id = b.variant_id AND v.deleted_at IS NULL
        WHERE b.tenant_id = $1 AND b.barcode = $2 AND b.deleted_at IS NULL
        """;

    private async Task<BarcodeTarget?> LookupAsync(string barcode)
    {
        await using var cmd = db.CreateCommand(LookupSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = barcode });
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new BarcodeTarget(reader.GetGuid(0), reader.GetGuid(1)) : null;
    }
}
