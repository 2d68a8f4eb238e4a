using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Sales;

/// <summary>Refunds of a store's sales: alone in the write slot, valued and restocked as the sale was.</summary>
public sealed partial class StoreGrain
{
    public async Task<SaleResult> RefundAsync(RefundCommand refund)
    {
        await TakeWriteTurnAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return Missing(new SaleResult(SaleOutcome.StoreNotFound));

            var stored = await ReceiptRows.LoadAsync(db, _tenantId, [refund.Id, refund.OriginalReceiptId]);
            if (stored.TryGetValue(refund.Id, out var existing))
                return existing.Receipt.RefundOf == refund.OriginalReceiptId
                    ? Replay(existing, refund.RequestHash)
                    : new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {refund.Id} was already used with a different request.");
            if (await UsedByStockOperationAsync(refund.Id))
                return new SaleResult(SaleOutcome.IdConflict, Detail: $"Id {refund.Id} was already used for a stock operation.");
            if (!stored.TryGetValue(refund.OriginalReceiptId, out var original) || original.Receipt.StoreId != _storeId || original.Receipt.Kind != ReceiptKind.Sale)
                return new SaleResult(SaleOutcome.StoreNotFound, Detail: $"Receipt {refund.OriginalReceiptId} is not a sale of this store.");

            var refundedBefore = await RefundedQuantitiesAsync(refund.OriginalReceiptId);
            await LoadStockAsync(refund.Lines.Select(l => l.VariantId));
            var work = NextBatch();
            var now = DateTimeOffset.UtcNow;
            var (receipt, refusal) = work.Refund(refund, original.Receipt, refundedBefore, now, BusinessDate(now));
            if (refusal is not null)
                return refusal;
            try
            {
                await WriteAsync(work);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "receipts_pkey")
            {
                // The id is another tenant's receipt (this tenant's was answered above as a replay).
                return new SaleResult(SaleOutcome.IdConflict, Detail: $"Receipt id {refund.Id} was already used with a different request.");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                WriteFailed(e, "refund", refund.Id);
                return new SaleResult(SaleOutcome.Unavailable, Detail: "The refund could not be committed; nothing was recorded. Retry with the same id.");
            }
            Apply(work);
            Remember(new ReceiptRows.Stored(receipt!, refund.RequestHash, _tenantId));
            return new SaleResult(SaleOutcome.Created, receipt!);
        }
        finally
        {
            _writeSlot.Release();
        }
    }

    private async Task<bool> UsedByStockOperationAsync(Guid id)
    {
        await using var cmd = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM stock_operations WHERE id = $1)");
        Sql.Add(cmd.Parameters, id);
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<Dictionary<Guid, decimal>> RefundedQuantitiesAsync(Guid originalReceiptId)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT (i ->> 'v')::uuid, sum((i ->> 'q')::numeric) FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.lines) AS i
            WHERE r.tenant_id = $1 AND r.refund_of = $2 GROUP BY 1
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = _tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = originalReceiptId });
        var result = new Dictionary<Guid, decimal>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            result[reader.GetGuid(0)] = reader.GetDecimal(1);
        return result;
    }
}
