using System.Security.Claims;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace JowiShop.ApiHost.Features.Receipts;

public sealed record ReceivingLineRequest(Guid? VariantId, decimal? Quantity, decimal? UnitCost);
public sealed record ReceivingRequest(Guid? Id, Guid? StoreId, IReadOnlyList<ReceivingLineRequest>? Lines, string? SupplierReference);
public sealed record AdjustmentLineRequest(Guid? VariantId, decimal? Delta, decimal? CountedQuantity);
public sealed record AdjustmentRequest(Guid? Id, Guid? StoreId, AdjustmentReason? Reason, IReadOnlyList<AdjustmentLineRequest>? Lines, string? Note);
public sealed record TransferLineRequest(Guid? VariantId, decimal? Quantity);
public sealed record TransferRequest(Guid? Id, Guid? FromStoreId, Guid? ToStoreId, IReadOnlyList<TransferLineRequest>? Lines);
public sealed record StockOperationResponse(Guid Id, Guid StoreId, bool Replayed, IReadOnlyList<StockLevelView> Levels);
public sealed record TransferResponse(Guid Id, Guid FromStoreId, Guid ToStoreId, bool Replayed, IReadOnlyList<TransferredLot> Lots,
    IReadOnlyList<StockLevelView> FromLevels, IReadOnlyList<StockLevelView> ToLevels);
public sealed record StockLevelRow(Guid VariantId, string Sku, string VariantName, string ProductName, decimal Quantity, decimal? LastUnitCost, DateTimeOffset UpdatedAt);

/// <summary>Stock in, corrections and transfers: each through the store grain that owns the stock, once per id.</summary>
public static class InventoryEndpoints
{
    public const int MaxLines = 500;

    public static RouteGroupBuilder MapInventoryEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/inventory").WithTags("Inventory").RequireAuthorization(Policies.Manager)
            .WithBodyLimit(RequestBodyLimits.Documents);
        group.MapPost("/receivings", Receive).WithSummary("Stock in: each line becomes a batch at its unit cost.")
            .ProducesProblems(400, "variant.not_found").ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "store.not_found").ProducesProblems(409, "receiving.id_conflict");
        group.MapPost("/adjustments", Adjust).WithSummary("Count correction (countedQuantity) or write-off (negative delta), with a reason.")
            .ProducesProblems(400, "variant.not_found").ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "store.not_found").ProducesProblems(409, "adjustment.id_conflict", "stock.insufficient");
        group.MapPost("/transfers", Transfer).WithSummary("Move stock between two stores: out of the sender's batches, in as batches at the same cost.")
            .ProducesProblems(400, "variant.not_found").ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "store.not_found").ProducesProblems(409, "transfer.id_conflict", "stock.insufficient");
        api.MapGet("/stores/{id:guid}/stock", StockLevels).WithTags("Inventory").RequireAuthorization(Policies.Staff)
            .WithSummary("The store's stock levels, by SKU; filters: variantId, belowLevel.")
            .ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "store.not_found");
        return api;
    }

    private static async Task<Results<Created<StockOperationResponse>, Ok<StockOperationResponse>, ValidationProblem, ProblemHttpResult>> Receive(
        ReceivingRequest request, ClaimsPrincipal user, IGrainFactory grains, VariantProducts variants, HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors().Require(request.StoreId is not null, "storeId", "is required")
            .Require(request.Id != Guid.Empty, "id", IdRule)
            .Require(request.Lines is { Count: >= 1 and <= MaxLines }, "lines", $"must hold 1 to {MaxLines} lines")
            .Require(request.SupplierReference is null || request.SupplierReference.Length <= 200, "supplierReference", "must be at most 200 characters");
        for (var i = 0; i < (request.Lines?.Count ?? 0); i++)
        {
            if (request.Lines![i] is not { } line)
            {
                errors.Add($"lines[{i}]", "is required");
                continue;
            }
            errors.Require(line.VariantId is not null, $"lines[{i}].variantId", "is required")
                .Require(IsQuantity(line.Quantity), $"lines[{i}].quantity", QuantityRule)
                .Require(line.UnitCost is { } c && Amounts.IsMoney(c), $"lines[{i}].unitCost", "is required and " + Amounts.MoneyRule);
        }
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var tenantId = user.GetTenantId();
        if (http.Refusal(request.StoreId!.Value) is { } notAssigned)
            return notAssigned;
        var (problem, catalog) = await CheckAsync(grains, variants, tenantId, [request.StoreId!.Value], request.Lines!.Select(l => l.VariantId!.Value), ct);
        if (problem is not null)
            return problem;
        for (var i = 0; i < request.Lines!.Count; i++)
            RequireWholePieces(errors, catalog.GetValueOrDefault(request.Lines[i].VariantId!.Value), request.Lines[i].Quantity, $"lines[{i}].quantity");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var id = request.Id ?? Guid.CreateVersion7();
        var hash = new RequestHash("receiving").Add(request.StoreId)
            .Add(request.Lines, (h, l) => h.Add(l.VariantId).Add(l.Quantity).Add(l.UnitCost))
            .Add(request.SupplierReference).ToHash();
        var result = await Store(grains, tenantId, request.StoreId!.Value).ReceiveAsync(new StockReceiving(id,
            request.Lines!.Select(l => new ReceivingLine(l.VariantId!.Value, l.Quantity!.Value, l.UnitCost!.Value)).ToArray(), request.SupplierReference, hash, user.GetUserId()));
        return Answer(result, id, request.StoreId.Value, http, "receiving");
    }

    private static async Task<Results<Created<StockOperationResponse>, Ok<StockOperationResponse>, ValidationProblem, ProblemHttpResult>> Adjust(
        AdjustmentRequest request, ClaimsPrincipal user, IGrainFactory grains, VariantProducts variants, HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors().Require(request.StoreId is not null, "storeId", "is required")
            .Require(request.Id != Guid.Empty, "id", IdRule)
            .Require(request.Reason is not null, "reason", "must be count, writeOff, damage or other")
            .Require(request.Lines is { Count: >= 1 and <= MaxLines }, "lines", $"must hold 1 to {MaxLines} lines")
            .Require(request.Note is null || request.Note.Length <= 500, "note", "must be at most 500 characters");
        for (var i = 0; i < (request.Lines?.Count ?? 0); i++)
        {
            if (request.Lines![i] is not { } line)
            {
                errors.Add($"lines[{i}]", "is required");
                continue;
            }
            errors.Require(line.VariantId is not null, $"lines[{i}].variantId", "is required")
                .Require((line.Delta is null) != (line.CountedQuantity is null), $"lines[{i}]", "needs exactly one of delta or countedQuantity")
                .Require(line.Delta is null || line.Delta != 0 && IsQuantity(Math.Abs(line.Delta.Value)), $"lines[{i}].delta", "must be a non-zero quantity with at most 3 decimals")
                .Require(line.CountedQuantity is null || line.CountedQuantity == 0 || IsQuantity(line.CountedQuantity), $"lines[{i}].countedQuantity",
                    "must be 0 or more with at most 3 decimals");
        }
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var tenantId = user.GetTenantId();
        if (http.Refusal(request.StoreId!.Value) is { } notAssigned)
            return notAssigned;
        var (problem, catalog) = await CheckAsync(grains, variants, tenantId, [request.StoreId!.Value], request.Lines!.Select(l => l.VariantId!.Value), ct);
        if (problem is not null)
            return problem;
        for (var i = 0; i < request.Lines!.Count; i++)
        {
            var variant = catalog.GetValueOrDefault(request.Lines[i].VariantId!.Value);
            RequireWholePieces(errors, variant, request.Lines[i].Delta, $"lines[{i}].delta");
            RequireWholePieces(errors, variant, request.Lines[i].CountedQuantity, $"lines[{i}].countedQuantity");
        }
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var id = request.Id ?? Guid.CreateVersion7();
        var hash = new RequestHash("adjustment").Add(request.StoreId).Add(request.Reason!.Value.ToString())
            .Add(request.Lines, (h, l) => h.Add(l.VariantId).Add(l.Delta).Add(l.CountedQuantity))
            .Add(request.Note).ToHash();
        var result = await Store(grains, tenantId, request.StoreId!.Value).AdjustAsync(new StockAdjustment(id, request.Reason!.Value,
            request.Lines!.Select(l => new AdjustmentLine(l.VariantId!.Value, l.Delta, l.CountedQuantity, catalog.GetValueOrDefault(l.VariantId!.Value)?.Cost)).ToArray(),
            request.Note, hash, user.GetUserId()));
        return Answer(result, id, request.StoreId.Value, http, "adjustment");
    }

    private static async Task<Results<Created<TransferResponse>, Ok<TransferResponse>, ValidationProblem, ProblemHttpResult>> Transfer(
        TransferRequest request, ClaimsPrincipal user, IGrainFactory grains, VariantProducts variants, HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors().Require(request.FromStoreId is not null, "fromStoreId", "is required")
            .Require(request.Id != Guid.Empty, "id", IdRule)
            .Require(request.ToStoreId is not null, "toStoreId", "is required")
            .Require(request.FromStoreId is null || request.FromStoreId != request.ToStoreId, "toStoreId", "must differ from fromStoreId")
            .Require(request.Lines is { Count: >= 1 and <= MaxLines }, "lines", $"must hold 1 to {MaxLines} lines");
        for (var i = 0; i < (request.Lines?.Count ?? 0); i++)
        {
            if (request.Lines![i] is not { } line)
            {
                errors.Add($"lines[{i}]", "is required");
                continue;
            }
            errors.Require(line.VariantId is not null, $"lines[{i}].variantId", "is required")
                .Require(IsQuantity(line.Quantity), $"lines[{i}].quantity", QuantityRule);
        }
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var tenantId = user.GetTenantId();
        var (from, to) = (request.FromStoreId!.Value, request.ToStoreId!.Value);
        // Stock leaves one store and enters another: a manager must work at both.
        if ((http.Refusal(from) ?? http.Refusal(to)) is { } notAssigned)
            return notAssigned;
        var (problem, catalog) = await CheckAsync(grains, variants, tenantId, [from, to], request.Lines!.Select(l => l.VariantId!.Value), ct);
        if (problem is not null)
            return problem;
        for (var i = 0; i < request.Lines!.Count; i++)
            RequireWholePieces(errors, catalog.GetValueOrDefault(request.Lines[i].VariantId!.Value), request.Lines[i].Quantity, $"lines[{i}].quantity");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var id = request.Id ?? Guid.CreateVersion7();
        // Both stores are part of the request: the same id naming another store is another transfer (409).
        var hash = new RequestHash("transfer").Add(from).Add(to)
            .Add(request.Lines, (h, l) => h.Add(l.VariantId).Add(l.Quantity)).ToHash();
        var transfer = new StockTransfer(id, from, to,
            request.Lines!.Select(l => new TransferLine(l.VariantId!.Value, l.Quantity!.Value, catalog.GetValueOrDefault(l.VariantId!.Value)?.Cost)).ToArray(), hash, user.GetUserId());
        var sent = await Store(grains, tenantId, from).SendTransferAsync(transfer);
        if (sent.Outcome is not (StockOutcome.Done or StockOutcome.AlreadyDone))
            return Refused(sent, http, "transfer");
        // In transit until the receiving store commits; a retry with the same id completes it.
        var received = await Store(grains, tenantId, to).ReceiveTransferAsync(transfer);
        if (received.Outcome is not (StockOutcome.Done or StockOutcome.AlreadyDone))
            return Refused(received, http, "transfer");
        var response = new TransferResponse(id, from, to, sent.Outcome == StockOutcome.AlreadyDone && received.Outcome == StockOutcome.AlreadyDone,
            sent.Lots!, sent.Levels, received.Levels);
        return response.Replayed ? TypedResults.Ok(response) : TypedResults.Created($"/api/v1/inventory/transfers/{id}", response);
    }

    private static async Task<Results<Ok<ListPage<StockLevelRow>>, ValidationProblem, ProblemHttpResult>> StockLevels(
        Guid id, Guid? variantId, decimal? belowLevel, int? page, int? limit, ClaimsPrincipal user, IGrainFactory grains, NpgsqlDataSource db,
        HttpContext http, CancellationToken ct)
    {
        if (!Paging.TryCreate(page, limit, out var request, out var errors))
            return ApiProblems.Validation(errors);
        if (http.Refusal(id) is { } notAssigned)
            return notAssigned;
        var tenantId = user.GetTenantId();
        if (await grains.Reference<ITenantGrain>(tenantId).GetStoreAsync(id) is null)
            return ApiProblems.NotFound("store.not_found", $"Store {id} does not exist.");
        await using var cmd = db.CreateCommand(
            """
            SELECT l.variant_id, v.sku, v.name, p.name, l.quantity, l.last_unit_cost, l.updated_at, count(*) OVER ()
            FROM stock_levels l
            JOIN product_variants v ON v.id = l.variant_id AND v.deleted_at IS NULL
            JOIN products p ON p.id = v.product_id
            WHERE l.tenant_id = $1 AND l.store_id = $2 AND ($3::uuid IS NULL OR l.variant_id = $3) AND ($4::numeric IS NULL OR l.quantity < $4)
            ORDER BY v.sku, l.variant_id
            LIMIT $5 OFFSET $6
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)variantId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)belowLevel ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Numeric });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = request.Limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = request.Offset });
        var rows = new List<StockLevelRow>();
        long total = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new StockLevelRow(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDecimal(4),
                reader.IsDBNull(5) ? null : reader.GetDecimal(5), reader.GetFieldValue<DateTimeOffset>(6)));
            total = reader.GetInt64(7);
        }
        return TypedResults.Ok(new ListPage<StockLevelRow>(rows, request.Page, request.Limit, total));
    }

    private const string QuantityRule = "must be more than 0 and at most 10000, with at most 3 decimals";
    private const string IdRule = "must be a UUID other than all zeros";

    private static bool IsQuantity(decimal? q) => q is > 0m and <= ReceiptEndpoints.MaxQuantity && decimal.Round(q.Value, 3) == q;

    private static IStoreGrain Store(IGrainFactory grains, Guid tenantId, Guid storeId) => grains.Reference<IStoreGrain>(storeId, tenantId.ToString());

    /// <summary>
    /// The stores exist in the tenant and every variant is a live one of the tenant: the live
    /// variants (costs and units, from their product grains); else the problem to answer.
    /// </summary>
    private static async Task<(ProblemHttpResult? Problem, Dictionary<Guid, Variant> Catalog)> CheckAsync(IGrainFactory grains, VariantProducts variants,
        Guid tenantId, Guid[] storeIds, IEnumerable<Guid> variantIds, CancellationToken ct)
    {
        foreach (var storeId in storeIds)
            if (await grains.Reference<ITenantGrain>(tenantId).GetStoreAsync(storeId) is null)
                return (ApiProblems.NotFound("store.not_found", $"Store {storeId} does not exist."), []);
        var ids = variantIds.Distinct().ToArray();
        var live = await LiveVariantsAsync(grains, variants, tenantId, ids, ct);
        var missing = ids.Where(v => !live.ContainsKey(v)).ToArray();
        return missing.Length == 0
            ? (null, live)
            : (ApiProblems.Problem(StatusCodes.Status400BadRequest, "variant.not_found", "Validation failed",
                $"lines: variant {string.Join(", ", missing)} does not exist or was deleted."), live);
    }

    /// <summary>Live variants (catalog cost, unit), from their product grains.</summary>
    internal static async Task<Dictionary<Guid, Variant>> LiveVariantsAsync(IGrainFactory grains, VariantProducts variants, Guid tenantId,
        IEnumerable<Guid> variantIds, CancellationToken ct)
    {
        var ids = variantIds.Distinct().ToArray();
        var products = await variants.ResolveAsync(tenantId, ids, ct);
        var found = await Task.WhenAll(ids.Where(products.ContainsKey).Select(v =>
            grains.Reference<IProductGrain>(products[v], tenantId.ToString()).GetVariantAsync(v)));
        return found.Where(f => f is not null).ToDictionary(f => f!.Variant.Id, f => f!.Variant);
    }

    /// <summary>A quantity of a variant counted by the piece must be whole (weighed and measured goods take 3 decimals).</summary>
    internal static void RequireWholePieces(FieldErrors errors, Variant? variant, decimal? quantity, string field)
    {
        if (variant is { Unit: VariantUnit.Piece } && quantity is { } q && q != decimal.Truncate(q))
            errors.Add(field, $"must be a whole number: variant {variant.Id} is counted by the piece");
    }

    private static Results<Created<StockOperationResponse>, Ok<StockOperationResponse>, ValidationProblem, ProblemHttpResult> Answer(
        StockResult result, Guid id, Guid storeId, HttpContext http, string resource) => result.Outcome switch
        {
            StockOutcome.Done => TypedResults.Created($"/api/v1/stores/{storeId}/stock", new StockOperationResponse(id, storeId, false, result.Levels)),
            StockOutcome.AlreadyDone => TypedResults.Ok(new StockOperationResponse(id, storeId, true, result.Levels)),
            _ => Refused(result, http, resource),
        };

    private static ProblemHttpResult Refused(StockResult result, HttpContext http, string resource)
    {
        switch (result.Outcome)
        {
            case StockOutcome.IdConflict:
                return ApiProblems.Conflict($"{resource}.id_conflict", result.Detail!);
            case StockOutcome.StoreNotFound:
                return ApiProblems.NotFound("store.not_found", "The store does not exist.");
            case StockOutcome.InsufficientStock:
                return ApiProblems.Conflict("stock.insufficient", result.Detail!);
            case StockOutcome.Invalid:
                return ApiProblems.Problem(StatusCodes.Status400BadRequest, "validation.failed", "Validation failed", result.Detail!);
            default:
                return ApiProblems.RetryLater(http, result.Detail);
        }
    }
}
