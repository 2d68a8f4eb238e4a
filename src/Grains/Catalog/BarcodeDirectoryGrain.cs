using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Persistence;
using Npgsql;
using Orleans.Concurrency;

namespace JowiShop.Grains.Catalog;

/// <summary>
/// One shard of a tenant's barcode → scan answer map. On activation it loads the answers of all
/// its live barcodes in one query (about 300 bytes each: the variant, its barcodes and its
/// product's name), so a scan is answered from here without activating the product grain.
/// Product grains send each variant's new answer after committing a change and before answering
/// the write, so the next scan from any silo sees it. A barcode not held is looked up once more in
/// PostgreSQL (rows written past the product grains, e.g. a bulk import while running) and then
/// remembered as unknown in a bounded set, so repeated bad scans cost no query.
/// </summary>
[Reentrant]
public sealed class BarcodeDirectoryGrain(NpgsqlDataSource db, CatalogCacheCounters counters) : Grain, IBarcodeDirectoryGrain
{
    private const int MaxUnknown = 4096;

    private readonly Dictionary<string, ScannedVariant> _known = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unknown = new(StringComparer.Ordinal);
    private readonly Queue<string> _unknownOrder = new();
    // Bumped by every Map/Unmap: a lookup that raced a write does not cache its (older) answer.
    private long _epoch;
    private Guid _tenantId;
    private int _shard;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString().Split('/');
        _tenantId = Guid.ParseExact(key[0], "N");
        _shard = int.Parse(key[1]);
        try
        {
            await using var cmd = db.CreateCommand(ShardSql);
            Sql.Add(cmd.Parameters, _tenantId, IBarcodeDirectoryGrain.Shards, _shard);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                Hold(Read(reader));
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
    }

    public async Task<ScannedVariant?> ScanAsync(string barcode)
    {
        while (true)
        {
            if (_known.TryGetValue(barcode, out var scanned))
            {
                counters.Hit();
                return scanned;
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
                continue; // a write landed meanwhile: ask again rather than keep a stale answer
            if (found is not null)
                Hold(found);
            else
                RememberUnknown(barcode);
            return found;
        }
    }

    public async Task<BarcodeTarget?> ResolveAsync(string barcode) =>
        await ScanAsync(barcode) is { } scanned ? new BarcodeTarget(scanned.ProductId, scanned.Variant.Id) : null;

    public Task MapAsync(IReadOnlyList<ScannedVariant> variants)
    {
        _epoch++;
        foreach (var scanned in variants)
            Hold(scanned);
        return Task.CompletedTask;
    }

    public Task UnmapAsync(IReadOnlyList<string> barcodes, Guid productId)
    {
        _epoch++;
        foreach (var barcode in barcodes)
            // Another product may have taken the barcode (and told us) before this release arrived.
            if (_known.TryGetValue(barcode, out var held) && held.ProductId == productId)
                _known.Remove(barcode);
        return Task.CompletedTask;
    }

    private void Hold(ScannedVariant scanned)
    {
        foreach (var barcode in scanned.Variant.Barcodes)
            if (Barcodes.Shard(barcode, IBarcodeDirectoryGrain.Shards) == _shard)
            {
                _known[barcode] = scanned;
                _unknown.Remove(barcode);
            }
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

    // The live variants (with their product) holding a barcode of this shard, each with all its
    // live barcodes in the product grain's order. The shard rule is Barcodes.Shard's, in SQL.
    private const string VariantColumns =
        """
        SELECT v.id, v.product_id, v.name, v.sku, v.price, v.cost, v.unit, v.active, v.updated_at, p.name, p.category_id, p.active,
               array_agg(b.barcode ORDER BY b.created_at, b.barcode), v.tax_rate_id,
               v.ikpu_code, v.package_code, v.unit_code, v.marked
        FROM product_variants v
        JOIN products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id AND p.deleted_at IS NULL
        JOIN variant_barcodes b ON b.tenant_id = v.tenant_id AND b.variant_id = v.id AND b.deleted_at IS NULL
        """;

    internal const string ShardSql = VariantColumns +
        """

        WHERE v.tenant_id = $1 AND v.deleted_at IS NULL AND v.id IN (
            SELECT variant_id FROM variant_barcodes
            WHERE tenant_id = $1 AND deleted_at IS NULL AND get_byte(sha256(convert_to(barcode, 'UTF8')), 0) % $2 = $3)
        GROUP BY v.id, p.id
        """;

    internal const string LookupSql = VariantColumns +
        """

        WHERE v.tenant_id = $1 AND v.deleted_at IS NULL AND v.id = (
            SELECT variant_id FROM variant_barcodes WHERE tenant_id = $1 AND barcode = $2 AND deleted_at IS NULL)
        GROUP BY v.id, p.id
        """;

    private async Task<ScannedVariant?> LookupAsync(string barcode)
    {
        await using var cmd = db.CreateCommand(LookupSql);
        Sql.Add(cmd.Parameters, _tenantId, barcode);
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    private static ScannedVariant Read(NpgsqlDataReader reader)
    {
        var productId = reader.GetGuid(1);
        var variant = new Variant(reader.GetGuid(0), productId, reader.GetString(2), reader.GetString(3), reader.GetFieldValue<string[]>(12),
            reader.GetDecimal(4), reader.IsDBNull(5) ? null : reader.GetDecimal(5), VariantUnits.FromSql(reader.GetString(6)),
            reader.GetBoolean(7), reader.GetFieldValue<DateTimeOffset>(8), reader.IsDBNull(13) ? null : reader.GetGuid(13),
            reader.IsDBNull(14) ? null : reader.GetString(14), reader.IsDBNull(15) ? null : reader.GetString(15), reader.IsDBNull(16) ? null : reader.GetString(16),
            reader.GetBoolean(17));
        return new ScannedVariant(variant, productId, reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetGuid(10), reader.GetBoolean(11));
    }
}
