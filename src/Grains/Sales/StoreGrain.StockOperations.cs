using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Concurrency;

namespace JowiShop.Grains.Sales;

/// <summary>Receivings, adjustments and transfers: one at a time, behind the fence, once per id.</summary>
public sealed partial class StoreGrain
{
    public Task<StockResult> ReceiveAsync(StockReceiving receiving) =>
        StockOperationAsync(new StockOperationRow(receiving.Id, "receiving", receiving.SupplierReference, receiving.RequestHash, receiving.ActorId), null,
            receiving.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in receiving.Lines)
                work.Put(line.VariantId, line.Quantity, line.UnitCost, "receiving", "receiving", null, receiving.SupplierReference, now);
            return null;
        });

    public Task<StockResult> AdjustAsync(StockAdjustment adjustment) =>
        StockOperationAsync(new StockOperationRow(adjustment.Id, "adjustment", adjustment.Note, adjustment.RequestHash, adjustment.ActorId), null,
            adjustment.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            var reference = $"{adjustment.Reason.ToString().ToLowerInvariant()}{(adjustment.Note is null ? "" : ": " + adjustment.Note)}";
            foreach (var line in adjustment.Lines)
            {
                var delta = line.CountedQuantity is { } counted ? counted - work.Working(line.VariantId).Quantity : line.Delta ?? 0m;
                if (delta < 0)
                {
                    if (_refuseNegativeStock && work.Working(line.VariantId).Quantity + delta < 0)
                        return (StockOutcome.InsufficientStock, $"Variant {line.VariantId}: adjusting by {delta} would take the level below zero.");
                    work.Take(line.VariantId, -delta, line.CatalogCost, "adjustment", null, reference, now);
                }
                else if (delta > 0)
                {
                    var state = work.Working(line.VariantId);
                    work.Put(line.VariantId, delta, state.LastUnitCost ?? line.CatalogCost ?? 0m, "adjustment", "adjustment", null, reference, now);
                }
            }
            return null;
        });

    public async Task<StockResult> SendTransferAsync(StockTransfer transfer)
    {
        if (transfer.FromStoreId != _storeId)
            return new StockResult(StockOutcome.Invalid, [], $"Transfer {transfer.Id} is sent by store {transfer.FromStoreId}, not {_storeId}.");
        var lots = new List<TransferredLot>();
        var result = await StockOperationAsync(new StockOperationRow(transfer.Id, "transfer_out", $"to {transfer.ToStoreId}", transfer.RequestHash, transfer.ActorId), transfer,
            transfer.Lines.Select(l => l.VariantId), (work, _) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var line in transfer.Lines)
            {
                if (_refuseNegativeStock && work.Working(line.VariantId).Quantity < line.Quantity)
                    return (StockOutcome.InsufficientStock, $"Variant {line.VariantId}: {line.Quantity} to send, {work.Working(line.VariantId).Quantity} on hand.");
                work.Take(line.VariantId, line.Quantity, line.CatalogCost, "transfer_out", null, $"transfer {transfer.Id}", now, lots);
            }
            return null;
        }, () => new LedgerStatement(
            """
            INSERT INTO stock_transfers (id, tenant_id, from_store_id, to_store_id, lots, sent_at, request_hash)
            VALUES ($1, $2, $3, $4, $5::jsonb, now(), $6)
            """,
            transfer.Id, _tenantId, _storeId, transfer.ToStoreId, System.Text.Json.JsonSerializer.Serialize(lots), transfer.RequestHash));
        return result.Outcome == StockOutcome.Done ? result with { Lots = lots } : result;
    }

    public Task<StockResult> ReceiveTransferAsync(StockTransfer transfer)
    {
        if (transfer.ToStoreId != _storeId)
            return Task.FromResult(new StockResult(StockOutcome.Invalid, [], $"Transfer {transfer.Id} is received by store {transfer.ToStoreId}, not {_storeId}."));
        // The lots booked are the ones recorded when the transfer was sent (judged to be this
        // transfer, sent to this store, before this runs), never what the caller says.
        return StockOperationAsync(new StockOperationRow(transfer.Id, "transfer_in", $"from {transfer.FromStoreId}", transfer.RequestHash, transfer.ActorId), transfer,
            transfer.Lines.Select(l => l.VariantId), (work, uses) =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var lot in uses.Transfer!.Lots)
                work.Put(lot.VariantId, lot.Quantity, lot.UnitCost, "transfer", "transfer_in", null, $"transfer {transfer.Id}", now);
            return null;
        }, () => new LedgerStatement(
            "UPDATE stock_transfers SET received_at = now() WHERE id = $1 AND tenant_id = $2 AND to_store_id = $3 AND received_at IS NULL",
            transfer.Id, _tenantId, _storeId));
    }

    /// <summary>
    /// Runs a stock operation alone, behind the fence, once per id. What the database holds for
    /// the id is read first (so the judgment survives a reactivation or a failover): the same
    /// request again answers AlreadyDone without moving stock; the id used with another request,
    /// at other stores, by a receipt or for another kind of operation answers IdConflict. A
    /// concurrent first use elsewhere is caught by the database (unique index, or JW002 for a
    /// receiving leg at a store the transfer was not sent to) and judged again the same way.
    /// </summary>
    private async Task<StockResult> StockOperationAsync(StockOperationRow operation, StockTransfer? transfer, IEnumerable<Guid> variantIds,
        Func<StoreBatch, IdUses, (StockOutcome Outcome, string Detail)?> prepare, Func<LedgerStatement>? extra = null)
    {
        await TakeWriteTurnAsync();
        try
        {
            if (_reloadNeeded)
                await LoadStoreAsync(CancellationToken.None);
            await RefreshConfigAsync();
            if (!_exists)
                return Missing(new StockResult(StockOutcome.StoreNotFound, []));
            var uses = await IdUsesAsync(operation.Id);
            var (verdict, detail) = Judge(operation, transfer, uses);
            if (verdict == UseVerdict.Conflict)
                return new StockResult(StockOutcome.IdConflict, [], detail);
            var variants = variantIds.Concat(uses.Transfer?.Lots.Select(l => l.VariantId) ?? []).Distinct().ToArray();
            await LoadStockAsync(variants);
            if (verdict == UseVerdict.Replay)
                return new StockResult(StockOutcome.AlreadyDone, Levels(variants), Lots: uses.Transfer?.Lots);

            var work = NextBatch();
            work.Operations.Add(operation);
            if (prepare(work, uses) is { } refused)
                return new StockResult(refused.Outcome, [], refused.Detail);
            try
            {
                await WriteAsync(work, extra?.Invoke());
            }
            catch (PostgresException e) when (e.SqlState == "JW002" || e.SqlState == PostgresErrorCodes.UniqueViolation
                && e.ConstraintName is "stock_operations_pkey" or "ux_stock_operations_one_per_id" or "stock_transfers_pkey")
            {
                // Refused whole (nothing of it committed; the store row is as it was): the id was
                // taken meanwhile, by another store's grain. Judge it as a replay would be.
                (verdict, detail) = Judge(operation, transfer, uses = await IdUsesAsync(operation.Id));
                logger.LogInformation("Store {StoreId}: {Kind} {Id} refused by the database ({SqlState}): {Verdict}",
                    _storeId, operation.Kind, operation.Id, e.SqlState, verdict);
                return verdict switch
                {
                    UseVerdict.Replay => new StockResult(StockOutcome.AlreadyDone, Levels(variants), Lots: uses.Transfer?.Lots),
                    UseVerdict.Conflict => new StockResult(StockOutcome.IdConflict, [], detail),
                    // Refused, yet nothing holds the id now: what refused it rolled back. Ask again.
                    _ => new StockResult(StockOutcome.Unavailable, [], "The stock operation could not be committed; nothing was recorded. Retry with the same id."),
                };
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                WriteFailed(e, operation.Kind, operation.Id);
                return new StockResult(StockOutcome.Unavailable, [], "The stock operation could not be committed; nothing was recorded. Retry with the same id.");
            }
            Apply(work);
            return new StockResult(StockOutcome.Done, Levels(variants));
        }
        finally
        {
            _writeSlot.Release();
        }
    }

    private enum UseVerdict { New, Replay, Conflict }

    /// <summary>What the database holds for an id: stock operation rows (any tenant), the transfer row, whether a receipt has it.</summary>
    private sealed record IdUses(IReadOnlyList<OperationUse> Operations, TransferUse? Transfer, bool Receipt);

    private sealed record OperationUse(Guid TenantId, Guid StoreId, string Kind, byte[]? RequestHash);

    private sealed record TransferUse(Guid TenantId, Guid FromStoreId, Guid ToStoreId, byte[]? RequestHash, IReadOnlyList<TransferredLot> Lots);

    /// <summary>
    /// Whether an operation is new, a replay of the id's first request, or a conflicting use of
    /// the id. Rows written before request hashes were stored (NULL) are judged by tenant, store,
    /// kind and (transfers) stores alone.
    /// </summary>
    private (UseVerdict Verdict, string? Detail) Judge(StockOperationRow operation, StockTransfer? transfer, IdUses uses)
    {
        var conflict = (UseVerdict.Conflict, $"Id {operation.Id} was already used with a different request (another body, store or kind of operation).");
        bool SameRequest(byte[]? stored) => stored is null || stored.AsSpan().SequenceEqual(operation.RequestHash);
        bool Here(OperationUse use) => use.TenantId == _tenantId && use.StoreId == _storeId;
        if (uses.Receipt)
            return (UseVerdict.Conflict, $"Id {operation.Id} was already used for a receipt.");

        if (operation.Kind is not ("transfer_out" or "transfer_in"))
        {
            if (uses.Operations.Count == 0 && uses.Transfer is null)
                return (UseVerdict.New, null);
            return uses is { Transfer: null, Operations: [var only] } && Here(only) && only.Kind == operation.Kind && SameRequest(only.RequestHash)
                ? (UseVerdict.Replay, null)
                : conflict;
        }

        var t = uses.Transfer;
        if (t is null)
        {
            if (uses.Operations.Count > 0)
                return conflict;
            // The sending leg writes the transfer row: without it, a receiving leg has nothing to book.
            return operation.Kind == "transfer_out" ? (UseVerdict.New, null) : (UseVerdict.Conflict, $"Transfer {operation.Id} was not sent.");
        }
        // The transfer's stores are the ones its first request named.
        if (t.TenantId != _tenantId || t.FromStoreId != transfer!.FromStoreId || t.ToStoreId != transfer.ToStoreId || !SameRequest(t.RequestHash))
            return conflict;
        if (operation.Kind == "transfer_out")
            return uses.Operations.Any(u => Here(u) && u.Kind == "transfer_out") ? (UseVerdict.Replay, null) : conflict;
        var received = uses.Operations.Where(u => u.Kind == "transfer_in").ToArray();
        return received switch
        {
            [] => (UseVerdict.New, null),
            [var only] when Here(only) => (UseVerdict.Replay, null),
            _ => conflict,
        };
    }

    /// <summary>Everything that uses this id, read from PostgreSQL in one round trip.</summary>
    private async Task<IdUses> IdUsesAsync(Guid id)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(Sql.Command("SELECT tenant_id, store_id, kind, request_hash FROM stock_operations WHERE id = $1", id));
        batch.BatchCommands.Add(Sql.Command("SELECT tenant_id, from_store_id, to_store_id, request_hash, lots::text FROM stock_transfers WHERE id = $1", id));
        batch.BatchCommands.Add(Sql.Command("SELECT EXISTS (SELECT 1 FROM receipts WHERE id = $1)", id));
        await using var reader = await batch.ExecuteReaderAsync();
        var operations = new List<OperationUse>();
        while (await reader.ReadAsync())
            operations.Add(new OperationUse(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3)));
        await reader.NextResultAsync();
        TransferUse? transfer = null;
        if (await reader.ReadAsync())
            transfer = new TransferUse(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3),
                System.Text.Json.JsonSerializer.Deserialize<List<TransferredLot>>(reader.GetString(4)) ?? []);
        await reader.NextResultAsync();
        await reader.ReadAsync();
        var receipt = reader.GetBoolean(0);
        return new IdUses(operations, transfer, receipt);
    }

    private List<StockLevelView> Levels(IEnumerable<Guid> variants) =>
        variants.Select(v => _stock.TryGetValue(v, out var s) ? new StockLevelView(v, s.Quantity, s.LastUnitCost) : new StockLevelView(v, 0m, null)).ToList();
}
