using System.Security.Claims;
using System.Text.Json.Nodes;
using JowiShop.ApiHost.Features.Taxes;
using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JowiShop.ApiHost.Features.Products;

public sealed record StockLevel(Guid StoreId, decimal Quantity);

/// <summary>What a till gets for a scan: the variant, its product, its price and optionally the store's stock.</summary>
public sealed record ScanResponse(
    Guid Id, Guid ProductId, string ProductName, Guid? CategoryId, string Name, string Sku, IReadOnlyList<string> Barcodes,
    decimal Price, VariantUnit Unit, bool Active, StockLevel? Stock);

public static class ProductEndpoints
{
    public static RouteGroupBuilder MapProductEndpoints(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/products").WithTags("Products");
        group.MapGet("/", ListProducts).RequireAuthorization(Policies.Staff)
            .WithSummary("Products with their variants, by name; filters: categoryId, query (name, SKU or barcode prefix), active.");
        group.MapGet("/{id:guid}", GetProduct).RequireAuthorization(Policies.Staff).WithSummary("One product with its variants.")
            .ProducesProblems(404, "product.not_found");
        group.MapGet("/by-barcode/{code}", Scan).RequireAuthorization(Policies.Staff)
            .WithSummary("Barcode scan: the variant, its product and price, and the store's stock level when storeId is given.")
            .ProducesProblems(404, "barcode.not_found", "store.not_found").ProducesProblems(403, "store.not_assigned");
        group.MapPost("/", CreateProduct).RequireAuthorization(Policies.Manager).WithBodyLimit(RequestBodyLimits.Documents)
            .WithSummary("Create a product with its variants.")
            .ProducesProblems(400, "category.not_found").ProducesProblems(409, "variant.sku_taken", "variant.barcode_taken", "resource.exists");
        group.MapPatch("/{id:guid}", UpdateProduct).RequireAuthorization(Policies.Manager).WithSummary("Change a product's fields.")
            .ProducesProblems(400, "category.not_found").ProducesProblems(404, "product.not_found").ProducesProblems(409, "variant.sku_taken", "variant.barcode_taken")
            .AcceptsMergePatch<ProductRequest>(["description", "categoryId"], "variants");
        group.MapDelete("/{id:guid}", DeleteProduct).RequireAuthorization(Policies.Manager)
            .WithSummary("Soft-delete a product and its variants; old receipts keep them.")
            .ProducesProblems(404, "product.not_found");
        group.MapPost("/{id:guid}/variants", AddVariant).RequireAuthorization(Policies.Manager).WithSummary("Add a variant.")
            .ProducesProblems(404, "product.not_found").ProducesProblems(409, "variant.sku_taken", "variant.barcode_taken", "resource.exists");
        group.MapPatch("/{id:guid}/variants/{variantId:guid}", UpdateVariant).RequireAuthorization(Policies.Manager)
            .WithSummary("Change a variant: name, SKU, barcodes, price, cost, unit, active.")
            .ProducesProblems(404, "product.not_found", "variant.not_found").ProducesProblems(409, "variant.sku_taken", "variant.barcode_taken")
            .AcceptsMergePatch<VariantRequest>(["cost", "taxRateId", "ikpuCode", "packageCode", "unitCode"]);
        group.MapDelete("/{id:guid}/variants/{variantId:guid}", DeleteVariant).RequireAuthorization(Policies.Manager)
            .WithSummary("Soft-delete a variant.")
            .ProducesProblems(404, "product.not_found", "variant.not_found");
        return api;
    }

    private static IProductGrain Grain(IGrainFactory grains, ClaimsPrincipal user, Guid productId) =>
        grains.Reference<IProductGrain>(productId, user.GetTenantId().ToString());

    private static async Task<Results<Ok<ListPage<Product>>, ValidationProblem>> ListProducts(
        int? page, int? limit, Guid? categoryId, string? query, bool? active, ClaimsPrincipal user, ProductQueries products, CancellationToken ct)
    {
        Paging.TryCreate(page, limit, out var request, out var errors);
        errors.Require(query is null || query.Trim().Length is >= 1 and <= 100, "query", "must be 1 to 100 characters");
        if (errors.Any)
            return ApiProblems.Validation(errors);
        return TypedResults.Ok(await products.ListAsync(user.GetTenantId(), request, categoryId, query, active, ct));
    }

    private static async Task<Results<Ok<Product>, ProblemHttpResult>> GetProduct(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var product = await Grain(grains, user, id).GetAsync();
        return product is null ? ProductNotFound(id) : TypedResults.Ok(product);
    }

    private static async Task<Results<Ok<ScanResponse>, ProblemHttpResult, ValidationProblem>> Scan(
        string code, Guid? storeId, ClaimsPrincipal user, IGrainFactory grains, ScannedBarcodes barcodes, ProductQueries products, HttpContext http,
        CancellationToken ct)
    {
        if (!Barcodes.TryClassify(code, out _, out var error))
            return ApiProblems.Validation(new FieldErrors().Add("code", error));

        var tenantId = user.GetTenantId();
        if (await barcodes.ScanAsync(tenantId, code) is not { } scanned)
            return ApiProblems.NotFound("barcode.not_found", $"No live variant has barcode {code}.");

        StockLevel? stock = null;
        if (storeId is { } store)
        {
            // A store's stock is read only by those who work there.
            if (http.Refusal(store) is { } notAssigned)
                return notAssigned;
            if (await grains.Reference<ITenantGrain>(tenantId).GetStoreAsync(store) is null)
                return ApiProblems.NotFound("store.not_found", $"Store {store} does not exist.");
            stock = new StockLevel(store, await products.StockLevelAsync(tenantId, store, scanned.Variant.Id, ct) ?? 0m);
        }

        var v = scanned.Variant;
        return TypedResults.Ok(new ScanResponse(v.Id, scanned.ProductId, scanned.ProductName, scanned.CategoryId, v.Name, v.Sku,
            v.Barcodes, v.Price, v.Unit, v.Active && scanned.ProductActive, stock));
    }

    private static async Task<Results<Created<Product>, ValidationProblem, ProblemHttpResult>> CreateProduct(
        ProductRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        var draft = CatalogRules.ToDraft(request, errors);
        if (draft is not null)
            await TaxEndpoints.RequireRatesAsync(grains, user, draft.Variants.Select((v, i) => ($"variants[{i}].taxRateId", v.TaxRateId)), errors);
        if (draft is null || errors.Any)
            return ApiProblems.Validation(errors);
        var id = Guid.CreateVersion7();
        var result = await Grain(grains, user, id).CreateAsync(draft);
        return result.Outcome == CatalogOutcome.Ok
            ? TypedResults.Created($"/api/v1/products/{id}", result.Product!)
            : Refused(result, id);
    }

    private static async Task<Results<Ok<Product>, ValidationProblem, ProblemHttpResult>> UpdateProduct(
        Guid id, JsonObject body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var patch = new PatchBody(body, new FieldErrors(), "name", "description", "categoryId", "active");
        var name = patch.Get<string>("name");
        if (patch.Has("name"))
            patch.Errors.RequireName(name, "name");
        var description = patch.Get<string>("description");
        patch.Errors.Require(description is null || description.Length <= CatalogRules.MaxDescriptionLength, "description",
            $"must be at most {CatalogRules.MaxDescriptionLength} characters");
        var categoryId = patch.Get<Guid?>("categoryId");
        var active = patch.Get<bool?>("active");
        patch.Errors.Require(!patch.IsNull("active"), "active", "cannot be null");
        if (patch.Errors.Any)
            return ApiProblems.Validation(patch.Errors);

        var result = await Grain(grains, user, id).UpdateAsync(new ProductPatch(
            name?.Trim(), description, patch.IsNull("description"), categoryId, patch.IsNull("categoryId"), active));
        return result.Outcome == CatalogOutcome.Ok ? TypedResults.Ok(result.Product!) : Refused(result, id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteProduct(Guid id, ClaimsPrincipal user, IGrainFactory grains)
    {
        var result = await Grain(grains, user, id).DeleteAsync();
        return result.Outcome == CatalogOutcome.Ok ? TypedResults.NoContent() : ProductNotFound(id);
    }

    private static async Task<Results<Created<Product>, ValidationProblem, ProblemHttpResult>> AddVariant(
        Guid id, VariantRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        var draft = CatalogRules.ToDraft(request, "", errors);
        if (draft is not null)
            await TaxEndpoints.RequireRatesAsync(grains, user, [(".taxRateId", draft.TaxRateId)], errors);
        if (draft is null || errors.Any)
            return ApiProblems.Validation(Unprefixed(errors));
        var result = await Grain(grains, user, id).AddVariantAsync(draft);
        return result.Outcome == CatalogOutcome.Ok
            ? TypedResults.Created($"/api/v1/products/{id}/variants/{draft.Id}", result.Product!)
            : Refused(result, id);
    }

    private static async Task<Results<Ok<Product>, ValidationProblem, ProblemHttpResult>> UpdateVariant(
        Guid id, Guid variantId, JsonObject body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var patch = new PatchBody(body, new FieldErrors(), "name", "sku", "barcodes", "price", "cost", "unit", "active", "taxRateId",
            "ikpuCode", "packageCode", "unitCode", "marked");
        var errors = patch.Errors;
        var name = patch.Get<string>("name");
        if (patch.Has("name"))
            errors.RequireName(name, "name");
        var sku = patch.Get<string>("sku");
        if (patch.Has("sku"))
            CatalogRules.RequireSku(sku, "sku", errors);
        var barcodes = patch.Get<string[]>("barcodes");
        if (patch.Has("barcodes"))
            CatalogRules.RequireBarcodes(barcodes, "barcodes", errors);
        var price = patch.Get<decimal?>("price");
        errors.Require(!patch.Has("price") || price is { } p && Amounts.IsMoney(p), "price", Amounts.MoneyRule);
        var cost = patch.Get<decimal?>("cost");
        errors.Require(cost is null || Amounts.IsMoney(cost.Value), "cost", Amounts.MoneyRule);
        var unit = patch.Get<VariantUnit?>("unit");
        var active = patch.Get<bool?>("active");
        foreach (var field in new[] { "unit", "active" })
            errors.Require(!patch.IsNull(field), field, "cannot be null");
        var taxRateId = patch.Get<Guid?>("taxRateId");
        var (ikpuCode, packageCode, unitCode) = (patch.Get<string>("ikpuCode"), patch.Get<string>("packageCode"), patch.Get<string>("unitCode"));
        CatalogRules.RequireFiscal(ikpuCode, packageCode, unitCode, "", errors);
        var marked = patch.Get<bool?>("marked");
        errors.Require(!patch.IsNull("marked"), "marked", "cannot be null");
        await TaxEndpoints.RequireRatesAsync(grains, user, [("taxRateId", taxRateId)], errors);
        if (errors.Any)
            return ApiProblems.Validation(errors);

        var result = await Grain(grains, user, id).UpdateVariantAsync(variantId, new VariantPatch(
            name?.Trim(), sku?.Trim(), barcodes, price, cost, patch.IsNull("cost"), unit, active, user.GetUserId(),
            taxRateId, patch.IsNull("taxRateId"), ikpuCode, patch.IsNull("ikpuCode"), packageCode, patch.IsNull("packageCode"),
            unitCode, patch.IsNull("unitCode"), marked));
        return result.Outcome switch
        {
            CatalogOutcome.Ok => TypedResults.Ok(result.Product!),
            CatalogOutcome.NotFound => VariantNotFound(id, variantId),
            _ => Refused(result, id),
        };
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteVariant(Guid id, Guid variantId, ClaimsPrincipal user, IGrainFactory grains)
    {
        var result = await Grain(grains, user, id).DeleteVariantAsync(variantId);
        return result.Outcome == CatalogOutcome.Ok ? TypedResults.NoContent() : VariantNotFound(id, variantId);
    }

    private static ProblemHttpResult Refused(CatalogWrite result, Guid productId) => result.Outcome switch
    {
        CatalogOutcome.SkuTaken => Conflict("variant.sku_taken", $"SKU {result.ConflictingValue} is already used by variant {result.ConflictingVariantId}.", result),
        CatalogOutcome.BarcodeTaken => Conflict("variant.barcode_taken", $"Barcode {result.ConflictingValue} is already used by variant {result.ConflictingVariantId}.", result),
        CatalogOutcome.CategoryNotFound => ApiProblems.Problem(StatusCodes.Status400BadRequest, "category.not_found", "Validation failed",
            "categoryId: no such category in this tenant."),
        CatalogOutcome.AlreadyExists => ApiProblems.Conflict("resource.exists", "It already exists."),
        _ => ProductNotFound(productId),
    };

    private static ProblemHttpResult Conflict(string code, string detail, CatalogWrite result) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict",
            extensions: new Dictionary<string, object?>
            {
                ["code"] = code,
                ["conflictingValue"] = result.ConflictingValue,
                ["conflictingVariantId"] = result.ConflictingVariantId,
            });

    private static ProblemHttpResult ProductNotFound(Guid id) => ApiProblems.NotFound("product.not_found", $"Product {id} does not exist.");

    private static ProblemHttpResult VariantNotFound(Guid id, Guid variantId) =>
        ApiProblems.NotFound("variant.not_found", $"Variant {variantId} of product {id} does not exist.");

    // A single variant body is validated with the same rules under an empty path prefix.
    private static FieldErrors Unprefixed(FieldErrors errors)
    {
        var result = new FieldErrors();
        foreach (var (field, messages) in errors.ToDictionary())
            foreach (var message in messages)
                result.Add(field.TrimStart('.'), message);
        return result;
    }
}
