using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Orleans.Runtime;

namespace JowiShop.ApiHost.Features.Receipts;

public sealed record ReceiptItemRequest(Guid? VariantId, decimal? Quantity, decimal? UnitPrice, decimal? Discount);

public sealed record PaymentRequest(PaymentMethod? Method, decimal? Amount);

public sealed record ReceiptRequest(
    Guid? Id, Guid? StoreId, Guid? TerminalId, Guid? CustomerId,
    IReadOnlyList<ReceiptItemRequest>? Items, IReadOnlyList<PaymentRequest>? Payments, string? Note);

public sealed record RefundItemRequest(Guid? VariantId, decimal? Quantity);

public sealed record RefundRequest(Guid? Id, Guid? TerminalId, IReadOnlyList<RefundItemRequest>? Items, IReadOnlyList<PaymentRequest>? Payments);

public static class ReceiptEndpoints
{
    public const int MaxLines = 500;
    public const int MaxPayments = 20;
    public const decimal MaxQuantity = 10_000m;
    public const int MaxNoteLength = 500;

    public static RouteGroupBuilder MapReceiptEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/receipts").WithTags("Receipts").RequireAuthorization(Policies.Staff);
        group.MapPost("/", CreateReceipt).WithBodyLimit(RequestBodyLimits.Documents)
            .WithSummary("Ring up a sale: numbered, taken out of stock and committed before the 201. The id is the idempotency key.")
            .ProducesProblems(403, "store.not_assigned", "receipt.price_override_forbidden", "receipt.discount_forbidden").ProducesProblems(404, "store.not_found").ProducesProblems(409, "receipt.id_conflict", "stock.insufficient");
        group.MapGet("/{id:guid}", GetReceipt).WithSummary("One receipt with its lines and payments.")
            .ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "receipt.not_found");
        group.MapGet("/", ListReceipts).WithSummary("Receipts and refunds, newest first; filters: storeId, from, to (UTC), customerId, terminalId.")
            .ProducesProblems(403, "store.not_assigned");
        group.MapPost("/{id:guid}/refunds", Refund).RequireAuthorization(Policies.Manager).WithBodyLimit(RequestBodyLimits.Documents)
            .WithSummary("Refund lines of a sale: its own RF- number, restocked at the original cost; never more than was sold.")
            .ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "receipt.not_found").ProducesProblems(409, "refund.id_conflict", "refund.exceeds_sold");
        api.MapGet("/stores/{storeId:guid}/receipts/by-number/{number}", ByNumber).WithTags("Receipts").RequireAuthorization(Policies.Staff)
            .WithSummary("A store's receipt by its number.")
            .ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "receipt.not_found");
        api.MapGet("/stores/{storeId:guid}/reports/daily", Daily).WithTags("Receipts").RequireAuthorization(Policies.Manager)
            .WithSummary("The store's business day: counts, gross, discounts, refunds, net, payment methods, cost of goods, gross margin.")
            .ProducesProblems(403, "store.not_assigned").ProducesProblems(404, "store.not_found");
        return api;
    }

    private static async Task<Results<Created<Receipt>, ValidationProblem, ProblemHttpResult>> CreateReceipt(
        ReceiptRequest request, ClaimsPrincipal user, IGrainFactory grains, NpgsqlDataSource db, HttpContext http, CancellationToken ct)
    {
        var answer = await RingUpAsync(request, user, grains, http);
        // A retry of a sale that was committed (its answer lost) must get that sale back even if the
        // request would now be refused: the variant deactivated, the discount limit lowered, the
        // cashier reassigned. Otherwise the till rings it up again under a new id. Only refusals pay
        // for this lookup; the sale path itself replays inside the store grain.
        if (request.Id is { } id && answer.Result is IStatusCodeHttpResult { StatusCode: >= 400 and < 500 and not 409 }
            && (await ReceiptRows.LoadAsync(db, user.GetTenantId(), [id], ct)).TryGetValue(id, out var stored)
            && stored.Receipt.Kind == ReceiptKind.Sale)
            return stored.RequestHash.AsSpan().SequenceEqual(SaleHash(request))
                ? TypedResults.Created($"/api/v1/receipts/{id}", stored.Receipt)
                : ApiProblems.Conflict("receipt.id_conflict", $"Receipt {id} was already recorded with a different request.");
        return answer;
    }

    private static async Task<Results<Created<Receipt>, ValidationProblem, ProblemHttpResult>> RingUpAsync(
        ReceiptRequest request, ClaimsPrincipal user, IGrainFactory grains, HttpContext http)
    {
        var errors = Validate(request);
        if (errors.Any)
            return ApiProblems.Validation(errors);
        var isManager = user.IsInRole(Roles.Owner) || user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Manager);
        if (!isManager && request.Items!.Any(i => i.UnitPrice is not null))
            return ApiProblems.Forbidden("receipt.price_override_forbidden",
                "Only managers, admins and owners may override unitPrice; cashiers sell at catalog prices.");

        var tenantId = user.GetTenantId();
        var storeId = request.StoreId!.Value;
        if (http.Refusal(storeId) is { } notAssigned)
            return notAssigned;

        // One grain call per sale: the store grain checks the terminal and customer, prices the lines
        // from its catalog cache and judges the discount (docs/receipts.md), answering as this endpoint did.
        var id = request.Id ?? Guid.CreateVersion7();
        var order = new SaleOrder(id, request.TerminalId!.Value, user.GetUserId(), user.GetRole(), request.CustomerId,
            request.Items!.Select(i => new SaleItem(i.VariantId!.Value, i.Quantity!.Value, i.UnitPrice, i.Discount)).ToArray(),
            request.Payments!.Select(p => new Payment(p.Method!.Value, p.Amount!.Value)).ToArray(), request.Note, SaleHash(request));
        var result = await SellAsync(grains.Reference<IStoreGrain>(storeId, tenantId.ToString()), order);
        switch (result.Outcome)
        {
            case SaleOutcome.Created or SaleOutcome.Replayed:
                return TypedResults.Created($"/api/v1/receipts/{id}", result.Receipt!);
            case SaleOutcome.IdConflict:
                return ApiProblems.Conflict("receipt.id_conflict", result.Detail!);
            case SaleOutcome.InsufficientStock:
                return TypedResults.Problem(detail: result.Detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                    extensions: new Dictionary<string, object?> { ["code"] = "stock.insufficient", ["variantId"] = result.VariantId });
            case SaleOutcome.StoreNotFound:
                return ApiProblems.NotFound("store.not_found", $"Store {storeId} does not exist.");
            case SaleOutcome.Invalid:
                var refused = new FieldErrors();
                foreach (var error in result.Errors ?? [])
                    refused.Add(error.Field, error.Message);
                return ApiProblems.Validation(refused);
            case SaleOutcome.DiscountForbidden:
                return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: result.Detail,
                    extensions: new Dictionary<string, object?> { ["code"] = "receipt.discount_forbidden", ["line"] = result.Line, ["maxDiscountPercent"] = result.MaxDiscountPercent });
            default:
                http.Response.Headers.RetryAfter = "1";
                return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "service.unavailable", "Service unavailable",
                    result.Detail ?? "The sale could not be committed; nothing was recorded. Retry with the same id.");
        }
    }

    private const int SaleAttempts = 3;

    /// <summary>
    /// A sale is idempotent by its id, so a transient refusal is asked again before the till sees a
    /// 503: during a membership change the store grain may be moving (its silo leaving) or briefly
    /// activated twice, where the fence refuses the stale copy's commit and it steps down.
    /// </summary>
    private static async Task<SaleResult> SellAsync(IStoreGrain store, SaleOrder order)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await store.RingUpAsync(order);
                if (result.Outcome != SaleOutcome.Unavailable || attempt == SaleAttempts)
                    return result;
            }
            catch (Exception e) when (attempt < SaleAttempts && e is SiloUnavailableException or OrleansMessageRejectionException)
            {
                // The grain's silo is leaving or gone: the next call is placed anew.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
        }
    }

    private static async Task<Results<Ok<Receipt>, ProblemHttpResult>> GetReceipt(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, HttpContext http,
        CancellationToken ct)
    {
        var found = await ReceiptRows.LoadAsync(db, user.GetTenantId(), [id], ct);
        if (!found.TryGetValue(id, out var stored))
            return ApiProblems.NotFound("receipt.not_found", $"Receipt {id} does not exist.");
        if (http.Refusal(stored.Receipt.StoreId) is { } notAssigned)
            return notAssigned;
        return TypedResults.Ok(stored.Receipt);
    }

    private static async Task<Results<Ok<ListPage<ReceiptSummary>>, ValidationProblem, ProblemHttpResult>> ListReceipts(
        Guid? storeId, DateTimeOffset? from, DateTimeOffset? to, Guid? customerId, Guid? terminalId, int? page, int? limit,
        ClaimsPrincipal user, ReceiptQueries receipts, HttpContext http, CancellationToken ct)
    {
        Paging.TryCreate(page, limit, out var request, out var errors);
        errors.Require(from is null || to is null || from < to, "to", "must be after from");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        if (storeId is { } store && http.Refusal(store) is { } notAssigned)
            return notAssigned;
        // Cashiers and managers see their stores' receipts only.
        return TypedResults.Ok(await receipts.ListAsync(user.GetTenantId(), request, storeId, from, to, customerId, terminalId, http.Limit(), ct));
    }

    private static async Task<Results<Ok<Receipt>, ProblemHttpResult>> ByNumber(Guid storeId, string number, ClaimsPrincipal user,
        ReceiptQueries receipts, HttpContext http, CancellationToken ct)
    {
        if (http.Refusal(storeId) is { } notAssigned)
            return notAssigned;
        var receipt = number.Length <= 40 ? await receipts.ByNumberAsync(user.GetTenantId(), storeId, number, ct) : null;
        return receipt is null
            ? ApiProblems.NotFound("receipt.not_found", $"Store {storeId} has no receipt {number}.")
            : TypedResults.Ok(receipt);
    }

    private static async Task<Results<Ok<DailyReport>, ValidationProblem, ProblemHttpResult>> Daily(Guid storeId, DateOnly? date, ClaimsPrincipal user,
        IGrainFactory grains, ReceiptQueries receipts, HttpContext http, CancellationToken ct)
    {
        if (http.Refusal(storeId) is { } notAssigned)
            return notAssigned;
        var tenantId = user.GetTenantId();
        var store = await grains.Reference<ITenantGrain>(tenantId).GetStoreAsync(storeId);
        if (store is null)
            return ApiProblems.NotFound("store.not_found", $"Store {storeId} does not exist.");
        if (date is null)
        {
            var settings = await grains.Reference<ITenantGrain>(tenantId).GetSettingsAsync();
            var zone = TimeZoneInfo.TryFindSystemTimeZoneById(store.TimeZone ?? settings.TimeZone, out var tz) ? tz : TimeZoneInfo.Utc;
            date = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime);
        }
        return TypedResults.Ok(await receipts.DailyAsync(tenantId, storeId, date.Value, ct));
    }

    private static async Task<Results<Created<Receipt>, ValidationProblem, ProblemHttpResult>> Refund(
        Guid id, RefundRequest request, ClaimsPrincipal user, IGrainFactory grains, ReceiptQueries receipts, VariantProducts variants,
        HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Require(request.Items is { Count: >= 1 and <= MaxLines }, "items", $"must hold 1 to {MaxLines} lines")
            .Require(request.Payments is null || request.Payments.Count <= MaxPayments, "payments", $"must hold at most {MaxPayments} payments")
            .Require(request.Id != Guid.Empty, "id", "must be a UUID other than all zeros");
        for (var i = 0; i < (request.Items?.Count ?? 0) && i < MaxLines; i++)
            errors.Require(request.Items![i]?.VariantId is not null, $"items[{i}].variantId", "is required")
                .Require(request.Items[i]?.Quantity is > 0m and <= MaxQuantity && decimal.Round(request.Items[i].Quantity!.Value, 3) == request.Items[i].Quantity,
                    $"items[{i}].quantity", $"must be more than 0 and at most {MaxQuantity}, with at most 3 decimals");
        for (var i = 0; i < (request.Payments?.Count ?? 0); i++)
            errors.Require(request.Payments![i]?.Method is not null, $"payments[{i}].method", "must be cash, card, transfer or other")
                .Require(request.Payments[i]?.Amount is > 0m && Amounts.IsMoney(request.Payments[i].Amount!.Value), $"payments[{i}].amount",
                    "must be more than 0 with at most 2 decimals");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var tenantId = user.GetTenantId();
        var storeId = await receipts.StoreOfAsync(tenantId, id, ct);
        if (storeId is null)
            return ApiProblems.NotFound("receipt.not_found", $"Receipt {id} does not exist.");
        if (http.Refusal(storeId.Value) is { } notAssigned)
            return notAssigned;
        var original = (await ReceiptRows.LoadAsync(http.RequestServices.GetRequiredService<NpgsqlDataSource>(), tenantId, [id], ct))[id].Receipt;
        if (request.TerminalId is { } terminalId
            && (await grains.Reference<ITenantGrain>(tenantId).GetTerminalAsync(terminalId) is not { } terminal || terminal.StoreId != storeId))
            return ApiProblems.Validation(new FieldErrors().Add("terminalId", $"terminal {terminalId} is not a terminal of store {storeId}"));

        // Variants still in the catalog: a piece is refunded whole (a deleted variant is judged by what was sold).
        var live = await InventoryEndpoints.LiveVariantsAsync(grains, variants, tenantId, request.Items!.Select(i => i.VariantId!.Value), ct);
        for (var i = 0; i < request.Items!.Count; i++)
            InventoryEndpoints.RequireWholePieces(errors, live.GetValueOrDefault(request.Items[i].VariantId!.Value), request.Items[i].Quantity, $"items[{i}].quantity");
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var lines = request.Items!.Select(i => new RefundLine(i.VariantId!.Value, i.Quantity!.Value)).ToArray();
        // Without payments, the refund is paid back in cash; with them, they must add up to the refund total.
        var payments = request.Payments?.Select(p => new Payment(p.Method!.Value, p.Amount!.Value)).ToArray();
        var refundId = request.Id ?? Guid.CreateVersion7();
        // The receipt refunded (the URL's id) is part of the request; no payments and [] both mean cash.
        var command = new RefundCommand(refundId, id, request.TerminalId ?? original.TerminalId, user.GetUserId(), lines,
            payments ?? [], RefundHash(id, request));
        var result = await grains.Reference<IStoreGrain>(storeId.Value, tenantId.ToString()).RefundAsync(command);
        return result.Outcome switch
        {
            SaleOutcome.Created or SaleOutcome.Replayed => TypedResults.Created($"/api/v1/receipts/{result.Receipt!.Id}", result.Receipt),
            SaleOutcome.IdConflict => ApiProblems.Conflict("refund.id_conflict", result.Detail!),
            SaleOutcome.RefundExceedsSale => ApiProblems.Conflict("refund.exceeds_sold", result.Detail!),
            SaleOutcome.Invalid => ApiProblems.Validation(new FieldErrors().Add("payments", result.Detail!)),
            SaleOutcome.StoreNotFound => ApiProblems.NotFound("receipt.not_found", result.Detail ?? $"Receipt {id} does not exist."),
            _ => ApiProblems.RetryLater(http, result.Detail),
        };
    }

    private static FieldErrors Validate(ReceiptRequest request)
    {
        var errors = new FieldErrors()
            .Require(request.StoreId is not null, "storeId", "is required")
            .Require(request.TerminalId is not null, "terminalId", "is required")
            .Require(request.Items is { Count: >= 1 and <= MaxLines }, "items", $"must hold 1 to {MaxLines} lines")
            .Require(request.Payments is { Count: >= 1 and <= MaxPayments }, "payments", $"must hold 1 to {MaxPayments} payments")
            .Require(request.Note is null || request.Note.Length <= MaxNoteLength, "note", $"must be at most {MaxNoteLength} characters")
            .Require(request.Id != Guid.Empty, "id", "must be a UUID other than all zeros");
        for (var i = 0; i < (request.Items?.Count ?? 0) && i < MaxLines; i++)
        {
            var item = request.Items![i];
            if (item is null)
            {
                errors.Add($"items[{i}]", "is required");
                continue;
            }
            errors.Require(item.VariantId is not null, $"items[{i}].variantId", "is required")
                .Require(item.Quantity is > 0m and <= MaxQuantity && decimal.Round(item.Quantity.Value, 3) == item.Quantity,
                    $"items[{i}].quantity", $"must be more than 0 and at most {MaxQuantity}, with at most 3 decimals")
                .Require(item.UnitPrice is null || Amounts.IsMoney(item.UnitPrice.Value), $"items[{i}].unitPrice", Amounts.MoneyRule)
                .Require(item.Discount is null || Amounts.IsMoney(item.Discount.Value), $"items[{i}].discount", Amounts.MoneyRule);
        }
        for (var i = 0; i < (request.Payments?.Count ?? 0) && i < MaxPayments; i++)
        {
            var payment = request.Payments![i];
            errors.Require(payment?.Method is not null, $"payments[{i}].method", "must be cash, card, transfer or other")
                .Require(payment?.Amount is > 0m && Amounts.IsMoney(payment.Amount.Value), $"payments[{i}].amount",
                    "must be more than 0 with at most 2 decimals");
        }
        return errors;
    }

    /// <summary>SHA-256 of the request body without its id: what a replay of the id must match.</summary>
    /// <summary>The sale's canonical request hash (<see cref="RequestHash"/>: 1.50 and 1.5 are one request), without its id.</summary>
    /// <summary>What a refund's replay must match (pinned by RequestHashFormTests: see <see cref="RequestHash"/>).</summary>
    internal static byte[] RefundHash(Guid receiptId, RefundRequest request) =>
        new RequestHash("refund").Add(receiptId).Add(request.TerminalId)
            .Add(request.Items, (h, i) => h.Add(i.VariantId).Add(i.Quantity))
            .Add(request.Payments, (h, p) => h.Add(p.Method!.Value.ToString()).Add(p.Amount)).ToHash();

    /// <summary>What a sale's replay must match (pinned by RequestHashFormTests: see <see cref="RequestHash"/>).</summary>
    internal static byte[] SaleHash(ReceiptRequest request) =>
        new RequestHash("sale").Add(request.StoreId).Add(request.TerminalId).Add(request.CustomerId)
            .Add(request.Items, (h, i) => h.Add(i.VariantId).Add(i.Quantity).Add(i.UnitPrice).Add(i.Discount))
            .Add(request.Payments, (h, p) => h.Add(p.Method?.ToString()).Add(p.Amount))
            .Add(request.Note).ToHash();
}
