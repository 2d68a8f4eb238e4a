using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Search;
using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions.Catalog;
using Npgsql;

namespace JowiShop.Grains.Catalog;

/// <summary>
/// A product and its variants and barcodes, loaded from PostgreSQL on activation and the only
/// writer of those rows afterwards: each write commits first, then updates memory, the barcode
/// directory (which answers scans) and the search index, then answers. Reads answer from memory.
/// </summary>
public sealed class ProductGrain(NpgsqlDataSource db, CatalogCacheCounters counters) : Grain, IProductGrain
{
    private Guid _productId;
    private Guid _tenantId;
    private Product? _product; // null: no live product with this id in this tenant
    // Variants committed but not yet recorded by the tenant's catalog cursor (the call failed): sent with the next change.
    private Guid[] _unannounced = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _productId = this.GetPrimaryKey(out var tenant);
        _tenantId = Guid.Parse(tenant!);
        try
        {
            _product = await LoadAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            throw DatabaseFailures.Translate(e); // activation failures bypass the call filter
        }
        counters.ProductActivated();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        counters.ProductDeactivated();
        if (_unannounced.Length > 0)
        {
            try
            {
                await AnnounceAsync(_product);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException)
            {
                // Nothing more to try: the change was answered as a failure, not as done.
            }
        }
    }

    public Task<Product?> GetAsync()
    {
        LeaveIfGone();
        return Task.FromResult(_product);
    }

    public Task<ScannedVariant?> GetVariantAsync(Guid variantId)
    {
        LeaveIfGone();
        var variant = _product?.Variants.FirstOrDefault(v => v.Id == variantId);
        return Task.FromResult(variant is null
            ? null
            : ScannedVariant.Of(_product!, variant));
    }

    public async Task<CatalogWrite> CreateAsync(ProductDraft draft)
    {
        if (_product is not null)
            return new CatalogWrite(CatalogOutcome.AlreadyExists, _product);

        var now = DateTimeOffset.UtcNow;
        var conflict = await WriteAsync(async (connection, tx) =>
        {
            if (draft.CategoryId is { } category && !await CategoryIsLiveAsync(connection, tx, category))
                return new CatalogWrite(CatalogOutcome.CategoryNotFound);
            await using var batch = new NpgsqlBatch(connection, tx);
            batch.BatchCommands.Add(Sql.Command(
                "INSERT INTO products (id, tenant_id, category_id, name, description, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                _productId, _tenantId, (object?)draft.CategoryId ?? DBNull.Value, draft.Name, (object?)draft.Description ?? DBNull.Value, draft.Active, now));
            foreach (var variant in draft.Variants)
                AddVariantCommands(batch, variant, now);
            await batch.ExecuteNonQueryAsync();
            return null;
        }, draft.Variants.Select(v => v.Sku).ToArray(), draft.Variants.SelectMany(v => v.Barcodes).ToArray());
        if (conflict is not null)
        {
            LeaveIfGone(); // nothing was created: the id stays nobody's
            return conflict;
        }

        _product = new Product(_productId, draft.Name, draft.Description, draft.CategoryId, draft.Active,
            draft.Variants.Select(v => ToVariant(v, now)).ToArray(), now, now);
        await PublishAsync(null);
        return new CatalogWrite(CatalogOutcome.Ok, _product);
    }

    public async Task<CatalogWrite> UpdateAsync(ProductPatch patch)
    {
        if (_product is null)
            return NotFound();

        var updated = _product with
        {
            Name = patch.Name ?? _product.Name,
            Description = patch.ClearDescription ? null : patch.Description ?? _product.Description,
            CategoryId = patch.ClearCategory ? null : patch.CategoryId ?? _product.CategoryId,
            Active = patch.Active ?? _product.Active,
            UpdatedAt = DateTimeOffset.UtcNow,
        };
        var conflict = await WriteAsync(async (connection, tx) =>
        {
            if (patch.CategoryId is { } category && !await CategoryIsLiveAsync(connection, tx, category))
                return new CatalogWrite(CatalogOutcome.CategoryNotFound);
            await using var cmd = new NpgsqlCommand(
                "UPDATE products SET name = $3, description = $4, category_id = $5, active = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2",
                connection, tx);
            Sql.Add(cmd.Parameters, _tenantId, _productId, updated.Name, (object?)updated.Description ?? DBNull.Value,
                (object?)updated.CategoryId ?? DBNull.Value, updated.Active, updated.UpdatedAt);
            await cmd.ExecuteNonQueryAsync();
            return null;
        });
        if (conflict is not null)
            return conflict;
        var before = _product;
        _product = updated;
        await PublishAsync(before);
        return new CatalogWrite(CatalogOutcome.Ok, _product);
    }

    public async Task<CatalogWrite> DeleteAsync()
    {
        if (_product is null)
            return NotFound();

        // Soft delete: receipts keep pointing at the rows; the barcodes become free for reuse.
        await WriteAsync(async (connection, tx) =>
        {
            await using var batch = new NpgsqlBatch(connection, tx)
            {
                BatchCommands =
                {
                    Sql.Command("UPDATE variant_barcodes SET deleted_at = now() WHERE tenant_id = $1 AND deleted_at IS NULL AND variant_id IN (SELECT id FROM product_variants WHERE tenant_id = $1 AND product_id = $2)", _tenantId, _productId),
                    Sql.Command("UPDATE product_variants SET deleted_at = now() WHERE tenant_id = $1 AND product_id = $2 AND deleted_at IS NULL", _tenantId, _productId),
                    Sql.Command("UPDATE products SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", _tenantId, _productId),
                },
            };
            await batch.ExecuteNonQueryAsync();
            return null;
        });
        var before = _product;
        _product = null;
        await PublishAsync(before);
        LeaveIfGone();
        return new CatalogWrite(CatalogOutcome.Ok);
    }

    public async Task<CatalogWrite> AddVariantAsync(VariantDraft draft)
    {
        if (_product is null)
            return NotFound();
        if (_product.Variants.Any(v => v.Id == draft.Id))
            return new CatalogWrite(CatalogOutcome.AlreadyExists, _product);

        var now = DateTimeOffset.UtcNow;
        var conflict = await WriteAsync(async (connection, tx) =>
        {
            await using var batch = new NpgsqlBatch(connection, tx);
            AddVariantCommands(batch, draft, now);
            batch.BatchCommands.Add(Sql.Command("UPDATE products SET updated_at = $3 WHERE tenant_id = $1 AND id = $2", _tenantId, _productId, now));
            await batch.ExecuteNonQueryAsync();
            return null;
        }, [draft.Sku], draft.Barcodes);
        if (conflict is not null)
            return conflict;
        var before = _product;
        _product = _product with { Variants = [.. _product.Variants, ToVariant(draft, now)], UpdatedAt = now };
        await PublishAsync(before);
        return new CatalogWrite(CatalogOutcome.Ok, _product);
    }

    public async Task<CatalogWrite> UpdateVariantAsync(Guid variantId, VariantPatch patch)
    {
        var current = _product?.Variants.FirstOrDefault(v => v.Id == variantId);
        if (current is null)
            return NotFound();

        var now = DateTimeOffset.UtcNow;
        var updated = current with
        {
            Name = patch.Name ?? current.Name,
            Sku = patch.Sku ?? current.Sku,
            Barcodes = patch.Barcodes ?? current.Barcodes,
            Price = patch.Price ?? current.Price,
            Cost = patch.ClearCost ? null : patch.Cost ?? current.Cost,
            Unit = patch.Unit ?? current.Unit,
            Active = patch.Active ?? current.Active,
            TaxRateId = patch.ClearTaxRate ? null : patch.TaxRateId ?? current.TaxRateId,
            IkpuCode = patch.ClearIkpuCode ? null : patch.IkpuCode ?? current.IkpuCode,
            PackageCode = patch.ClearPackageCode ? null : patch.PackageCode ?? current.PackageCode,
            UnitCode = patch.ClearUnitCode ? null : patch.UnitCode ?? current.UnitCode,
            Marked = patch.Marked ?? current.Marked,
            UpdatedAt = now,
        };
        var removed = current.Barcodes.Except(updated.Barcodes, StringComparer.Ordinal).ToArray();
        var added = updated.Barcodes.Except(current.Barcodes, StringComparer.Ordinal).ToArray();

        var conflict = await WriteAsync(async (connection, tx) =>
        {
            await using var batch = new NpgsqlBatch(connection, tx);
            batch.BatchCommands.Add(Sql.Command(
                "UPDATE product_variants SET name = $3, sku = $4, price = $5, cost = $6, unit = $7, active = $8, updated_at = $9, tax_rate_id = $10, ikpu_code = $11, package_code = $12, unit_code = $13, marked = $14 WHERE tenant_id = $1 AND id = $2",
                _tenantId, variantId, updated.Name, updated.Sku, updated.Price, (object?)updated.Cost ?? DBNull.Value,
                updated.Unit.ToSql(), updated.Active, now, NullableUuid(updated.TaxRateId), NullableText(updated.IkpuCode), NullableText(updated.PackageCode),
                NullableText(updated.UnitCode), updated.Marked));
            if (removed.Length > 0)
                batch.BatchCommands.Add(Sql.Command(
                    "UPDATE variant_barcodes SET deleted_at = now() WHERE tenant_id = $1 AND variant_id = $2 AND barcode = ANY($3) AND deleted_at IS NULL",
                    _tenantId, variantId, removed));
            foreach (var barcode in added)
                batch.BatchCommands.Add(BarcodeInsert(variantId, barcode, now));
            batch.BatchCommands.Add(Sql.Command("UPDATE products SET updated_at = $3 WHERE tenant_id = $1 AND id = $2", _tenantId, _productId, now));
            if (updated.Price != current.Price)
                batch.BatchCommands.Add(AuditTrail.Entry(_tenantId, patch.ActorId, "variant.price_changed", "variant", variantId,
                    details: new { productId = _productId, from = current.Price, to = updated.Price }));
            await batch.ExecuteNonQueryAsync();
            return null;
        }, patch.Sku is null ? null : [patch.Sku], added);
        if (conflict is not null)
            return conflict;

        var before = _product!;
        _product = before with { Variants = before.Variants.Select(v => v.Id == variantId ? updated : v).ToArray(), UpdatedAt = now };
        await PublishAsync(before);
        return new CatalogWrite(CatalogOutcome.Ok, _product);
    }

    public async Task<CatalogWrite> DeleteVariantAsync(Guid variantId)
    {
        var current = _product?.Variants.FirstOrDefault(v => v.Id == variantId);
        if (current is null)
            return NotFound();

        var now = DateTimeOffset.UtcNow;
        await WriteAsync(async (connection, tx) =>
        {
            await using var batch = new NpgsqlBatch(connection, tx)
            {
                BatchCommands =
                {
                    Sql.Command("UPDATE variant_barcodes SET deleted_at = $3 WHERE tenant_id = $1 AND variant_id = $2 AND deleted_at IS NULL", _tenantId, variantId, now),
                    Sql.Command("UPDATE product_variants SET deleted_at = $3 WHERE tenant_id = $1 AND id = $2", _tenantId, variantId, now),
                    Sql.Command("UPDATE products SET updated_at = $3 WHERE tenant_id = $1 AND id = $2", _tenantId, _productId, now),
                },
            };
            await batch.ExecuteNonQueryAsync();
            return null;
        });
        var before = _product!;
        _product = before with { Variants = before.Variants.Where(v => v.Id != variantId).ToArray(), UpdatedAt = now };
        await PublishAsync(before);
        return new CatalogWrite(CatalogOutcome.Ok, _product);
    }

    private CatalogWrite NotFound()
    {
        LeaveIfGone();
        return new CatalogWrite(CatalogOutcome.NotFound);
    }

    /// <summary>
    /// No live product has this id (it never existed, or was deleted): the call is answered, then the
    /// activation goes, so that ids made up by clients do not each keep one for Orleans:CollectionAge.
    /// </summary>
    private void LeaveIfGone()
    {
        if (_product is null)
            DeactivateOnIdle();
    }

    /// <summary>
    /// Runs a write in one transaction. A unique violation on SKU or barcode rolls it back and
    /// becomes a conflict result naming the live variant that holds the value (looked up among
    /// the <paramref name="skus"/> and <paramref name="barcodes"/> the write tried to take).
    /// </summary>
    private async Task<CatalogWrite?> WriteAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task<CatalogWrite?>> write,
        IReadOnlyCollection<string>? skus = null, IReadOnlyCollection<string>? barcodes = null)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        try
        {
            var refused = await write(connection, tx);
            if (refused is not null)
                return refused;
            await tx.CommitAsync();
            return null;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation
            && e.ConstraintName is "ux_variants_tenant_sku" or "ux_barcodes_tenant_barcode")
        {
            await tx.RollbackAsync();
            var isSku = e.ConstraintName == "ux_variants_tenant_sku";
            var (holder, value) = await FindHolderAsync(isSku, isSku ? skus ?? [] : barcodes ?? []);
            return new CatalogWrite(isSku ? CatalogOutcome.SkuTaken : CatalogOutcome.BarcodeTaken, null, value, holder);
        }
    }

    internal const string SkuHolderSql =
        "SELECT id, sku FROM product_variants WHERE tenant_id = $1 AND sku = ANY($2) AND deleted_at IS NULL ORDER BY created_at LIMIT 1";

    internal const string BarcodeHolderSql =
        "SELECT variant_id, barcode FROM variant_barcodes WHERE tenant_id = $1 AND barcode = ANY($2) AND deleted_at IS NULL ORDER BY created_at LIMIT 1";

    private async Task<(Guid? Variant, string? Value)> FindHolderAsync(bool isSku, IReadOnlyCollection<string> values)
    {
        // The holder is a live variant of another product, or another variant of this one.
        await using var cmd = db.CreateCommand(isSku ? SkuHolderSql : BarcodeHolderSql);
        Sql.Add(cmd.Parameters, _tenantId, values.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetGuid(0), reader.GetString(1)) : (null, values.FirstOrDefault());
    }

    private async Task<bool> CategoryIsLiveAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid categoryId)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM categories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL)", connection, tx);
        Sql.Add(cmd.Parameters, _tenantId, categoryId);
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    private void AddVariantCommands(NpgsqlBatch batch, VariantDraft variant, DateTimeOffset now)
    {
        batch.BatchCommands.Add(Sql.Command(
            "INSERT INTO product_variants (id, tenant_id, product_id, name, sku, price, cost, unit, active, created_at, updated_at, tax_rate_id, ikpu_code, package_code, unit_code, marked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15)",
            variant.Id, _tenantId, _productId, variant.Name, variant.Sku, variant.Price, (object?)variant.Cost ?? DBNull.Value,
            variant.Unit.ToSql(), variant.Active, now, NullableUuid(variant.TaxRateId), NullableText(variant.IkpuCode), NullableText(variant.PackageCode),
            NullableText(variant.UnitCode), variant.Marked));
        foreach (var barcode in variant.Barcodes)
            batch.BatchCommands.Add(BarcodeInsert(variant.Id, barcode, now));
    }

    private NpgsqlBatchCommand BarcodeInsert(Guid variantId, string barcode, DateTimeOffset now)
    {
        Barcodes.TryClassify(barcode, out var symbology, out _);
        return Sql.Command("INSERT INTO variant_barcodes (tenant_id, variant_id, barcode, symbology, created_at) VALUES ($1, $2, $3, $4, $5)",
            _tenantId, variantId, barcode, symbology.ToSql(), now);
    }

    private Variant ToVariant(VariantDraft d, DateTimeOffset now) =>
        new(d.Id, _productId, d.Name, d.Sku, d.Barcodes, d.Price, d.Cost, d.Unit, d.Active, now, d.TaxRateId, d.IkpuCode, d.PackageCode, d.UnitCode, d.Marked);

    private static NpgsqlParameter NullableText(string? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    private static NpgsqlParameter NullableUuid(Guid? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid };

    /// <summary>
    /// Tells the barcode directory shards what scans of this product's barcodes answer now: the
    /// variants whose answer changed (price, name, SKU, unit, active, barcodes, or any product
    /// field) and the barcodes it no longer holds, each shard only its own.
    /// </summary>
    private async Task DirectoryAsync(Product? before)
    {
        var was = before?.Variants.ToDictionary(v => v.Id, v => ScannedVariant.Of(before, v)) ?? [];
        var changed = _product?.Variants.Select(v => ScannedVariant.Of(_product, v))
            .Where(s => !was.TryGetValue(s.Variant.Id, out var old) || !old.SameAs(s)).ToArray() ?? [];
        var released = (before?.Variants.SelectMany(v => v.Barcodes) ?? [])
            .Except(_product?.Variants.SelectMany(v => v.Barcodes) ?? [], StringComparer.Ordinal).ToArray();
        string Shard(string barcode) => IBarcodeDirectoryGrain.Key(_tenantId, barcode);
        var shards = changed.SelectMany(s => s.Variant.Barcodes).Concat(released).Select(Shard).Distinct();
        await Task.WhenAll(shards.Select(async key =>
        {
            var shard = GrainFactory.Reference<IBarcodeDirectoryGrain>(key);
            if (released.Where(b => Shard(b) == key).ToArray() is { Length: > 0 } gone)
                await shard.UnmapAsync(gone, _productId);
            if (changed.Where(s => s.Variant.Barcodes.Any(b => Shard(b) == key)).ToArray() is { Length: > 0 } answers)
                await shard.MapAsync(answers);
        }));
    }

    /// <summary>
    /// After a commit, before the answer: the tenant's catalog cursor, the barcode directory and the
    /// search index learn the change. The cursor is advanced even when the others fail: a stale
    /// price would be charged.
    /// </summary>
    private async Task PublishAsync(Product? before)
    {
        try
        {
            await DirectoryAsync(before);
            await IndexAsync(before);
        }
        finally
        {
            await AnnounceAsync(before);
        }
    }

    private const int AnnounceAttempts = 3;

    /// <summary>
    /// Advances the tenant's catalog cursor past the variants this change touched (any whose scan
    /// answer changed, added or gone), after the commit and before the answer, so that store grains
    /// drop those prices at their next batch: a change answered 200 is charged from the next sale on.
    /// If the tenant grain cannot be reached the change is answered as an error and the variants are
    /// sent again with the next change (a lost tenant activation needs nothing: its successor's new
    /// epoch makes every store drop its whole cache).
    /// </summary>
    private async Task AnnounceAsync(Product? before)
    {
        var was = before?.Variants.ToDictionary(v => v.Id, v => ScannedVariant.Of(before, v)) ?? [];
        var now = _product?.Variants.ToDictionary(v => v.Id, v => ScannedVariant.Of(_product, v)) ?? [];
        var changed = was.Where(w => !now.TryGetValue(w.Key, out var s) || !s.SameAs(w.Value)).Select(w => w.Key)
            .Concat(now.Keys.Where(id => !was.ContainsKey(id)))
            .Concat(_unannounced).Distinct().ToArray();
        if (changed.Length == 0)
            return;
        _unannounced = changed;
        var tenant = GrainFactory.Reference<ITenantGrain>(_tenantId);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await tenant.CatalogChangedAsync(changed);
                _unannounced = [];
                return;
            }
            catch (Exception e) when (attempt < AnnounceAttempts && e is OrleansMessageRejectionException or TimeoutException)
            {
                // Idempotent: recording a variant twice only costs stores a reload of it.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }

    /// <summary>Tells the tenant's search index when what search matches (name, active, SKUs, barcodes) changed.</summary>
    private async Task IndexAsync(Product? before)
    {
        var index = GrainFactory.Reference<ISearchIndexGrain>(_tenantId);
        if (_product is null)
        {
            if (before is not null)
                await index.RemoveProductAsync(_productId);
            return;
        }
        var entry = CatalogSearchEntry.Of(_product);
        if (before is null || !entry.SameAs(CatalogSearchEntry.Of(before)))
            await index.PutProductAsync(entry);
    }


    private async Task<Product?> LoadAsync(CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            "SELECT name, description, category_id, active, created_at, updated_at FROM products WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            _tenantId, _productId));
        batch.BatchCommands.Add(Sql.Command(
            "SELECT id, name, sku, price, cost, unit, active, updated_at, tax_rate_id, ikpu_code, package_code, unit_code, marked FROM product_variants WHERE tenant_id = $1 AND product_id = $2 AND deleted_at IS NULL ORDER BY created_at, id",
            _tenantId, _productId));
        batch.BatchCommands.Add(Sql.Command(
            """
            SELECT b.variant_id, b.barcode FROM variant_barcodes b
            JOIN product_variants v ON v.id = b.variant_id
            WHERE b.tenant_id = $1 AND v.tenant_id = $1 AND v.product_id = $2 AND v.deleted_at IS NULL AND b.deleted_at IS NULL
            ORDER BY b.created_at, b.barcode
            """, _tenantId, _productId));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
            return null;
        var (name, description, category, active, created, updated) = (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? (Guid?)null : reader.GetGuid(2), reader.GetBoolean(3),
            reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5));

        await reader.NextResultAsync(ct);
        var variants = new List<Variant>();
        while (await reader.ReadAsync(ct))
            variants.Add(new Variant(reader.GetGuid(0), _productId, reader.GetString(1), reader.GetString(2), [],
                reader.GetDecimal(3), reader.IsDBNull(4) ? null : reader.GetDecimal(4), VariantUnits.FromSql(reader.GetString(5)),
                reader.GetBoolean(6), reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetGuid(8),
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11),
                reader.GetBoolean(12)));

        await reader.NextResultAsync(ct);
        var barcodes = new Dictionary<Guid, List<string>>();
        while (await reader.ReadAsync(ct))
        {
            var variantId = reader.GetGuid(0);
            if (!barcodes.TryGetValue(variantId, out var list))
                barcodes[variantId] = list = [];
            list.Add(reader.GetString(1));
        }

        return new Product(_productId, name, description, category, active,
            variants.Select(v => v with { Barcodes = barcodes.GetValueOrDefault(v.Id) ?? [] }).ToArray(), created, updated);
    }


}
