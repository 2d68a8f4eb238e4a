using JowiShop.ApiHost.Infrastructure;
using JowiShop.Grains.Abstractions.Catalog;

namespace JowiShop.ApiHost.Features.Products;

public sealed record VariantRequest(
    string? Name, string? Sku, IReadOnlyList<string>? Barcodes, decimal? Price, decimal? Cost, VariantUnit? Unit, bool? Active,
    // The variant's own tax rate; left out or null: its category's, else the tenant default.
    Guid? TaxRateId = null,
    // Fiscal product data: IKPU (MXIK) code, 17 digits; package code (digits); unit code; digitally marked goods.
    string? IkpuCode = null, string? PackageCode = null, string? UnitCode = null, bool? Marked = null);

public sealed record ProductRequest(
    string? Name, string? Description, Guid? CategoryId, bool? Active, IReadOnlyList<VariantRequest>? Variants);

/// <summary>Validation of catalog input; every rule names the field (JSON path) it is about.</summary>
public static class CatalogRules
{
    public const int MaxVariants = 100;
    public const int MaxBarcodesPerVariant = 20;
    public const int MaxSkuLength = 64;
    public const int MaxDescriptionLength = 2000;

    public static ProductDraft? ToDraft(ProductRequest request, FieldErrors errors)
    {
        errors.RequireName(request.Name, "name");
        errors.Require(request.Description is null || request.Description.Length <= MaxDescriptionLength, "description",
            $"must be at most {MaxDescriptionLength} characters");
        errors.Require(request.Variants is { Count: >= 1 and <= MaxVariants }, "variants", $"must hold 1 to {MaxVariants} variants");
        var variants = (request.Variants ?? []).Select((v, i) => ToDraft(v, $"variants[{i}]", errors)).ToArray();
        RequireDistinct(variants.Select(v => v?.Sku), "variants", "SKUs within the product must be distinct", errors);
        RequireDistinct(variants.SelectMany(v => v?.Barcodes ?? []), "variants", "barcodes within the product must be distinct", errors);
        return errors.Any
            ? null
            : new ProductDraft(request.Name!.Trim(), request.Description, request.CategoryId, request.Active ?? true, variants!);
    }

    public static VariantDraft? ToDraft(VariantRequest? request, string path, FieldErrors errors)
    {
        if (request is null)
        {
            errors.Add(path, "is required");
            return null;
        }
        var errorsBefore = errors.Count;
        errors.RequireName(request.Name, $"{path}.name");
        RequireSku(request.Sku, $"{path}.sku", errors);
        RequireBarcodes(request.Barcodes, $"{path}.barcodes", errors);
        errors.Require(request.Price is { } price && Amounts.IsMoney(price), $"{path}.price", "is required and " + Amounts.MoneyRule);
        errors.Require(request.Cost is null || Amounts.IsMoney(request.Cost.Value), $"{path}.cost", Amounts.MoneyRule);
        RequireFiscal(request.IkpuCode, request.PackageCode, request.UnitCode, path, errors);
        if (errors.Count != errorsBefore)
            return null;
        return new VariantDraft(Guid.CreateVersion7(), request.Name!.Trim(), request.Sku!.Trim(), request.Barcodes!,
            request.Price!.Value, request.Cost, request.Unit ?? VariantUnit.Piece, request.Active ?? true, request.TaxRateId,
            request.IkpuCode, request.PackageCode, request.UnitCode, request.Marked ?? false);
    }

    public const int MaxFiscalCodeLength = 20;

    /// <summary>
    /// IKPU (MXIK): exactly 17 digits, as the national catalogue gives it (fiscal providers refuse anything else);
    /// package code: 1 to 20 digits (tasnif.soliq.uz's numeric codes); unit code: 1 to 20 printable ASCII characters.
    /// </summary>
    public static void RequireFiscal(string? ikpuCode, string? packageCode, string? unitCode, string path, FieldErrors errors)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        errors.Require(ikpuCode is null || ikpuCode.Length == 17 && ikpuCode.All(char.IsAsciiDigit), $"{prefix}ikpuCode", "must be exactly 17 digits (the IKPU/MXIK code)");
        errors.Require(packageCode is null || packageCode.Length is >= 1 and <= MaxFiscalCodeLength && packageCode.All(char.IsAsciiDigit),
            $"{prefix}packageCode", $"must be 1 to {MaxFiscalCodeLength} digits");
        errors.Require(unitCode is null || unitCode.Length is >= 1 and <= MaxFiscalCodeLength && unitCode.All(c => c is > ' ' and <= '~'),
            $"{prefix}unitCode", $"must be 1 to {MaxFiscalCodeLength} printable ASCII characters without spaces");
    }

    public static void RequireSku(string? sku, string field, FieldErrors errors) =>
        errors.Require(!string.IsNullOrWhiteSpace(sku) && sku.Trim().Length <= MaxSkuLength && sku.Trim().All(c => c is > ' ' and <= '~'),
            field, $"is required: 1 to {MaxSkuLength} printable ASCII characters without spaces");

    public static void RequireBarcodes(IReadOnlyList<string>? barcodes, string field, FieldErrors errors)
    {
        if (barcodes is not { Count: >= 1 and <= MaxBarcodesPerVariant })
        {
            errors.Add(field, $"must hold 1 to {MaxBarcodesPerVariant} barcodes");
            return;
        }
        for (var i = 0; i < barcodes.Count; i++)
        {
            if (!Barcodes.TryClassify(barcodes[i], out _, out var error))
                errors.Add($"{field}[{i}]", error);
        }
        RequireDistinct(barcodes, field, "must be distinct", errors);
    }

    private static void RequireDistinct(IEnumerable<string?> values, string field, string message, FieldErrors errors)
    {
        var list = values.Where(v => v is not null).ToList();
        if (list.Distinct(StringComparer.Ordinal).Count() != list.Count)
            errors.Add(field, message);
    }
}
