using JowiShop.Grains.Abstractions;
using JowiShop.Grains.Abstractions.Catalog;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// The store grain's judgment of a sale order, without grains: the refusals the endpoint used to
/// give (fields, wording, order) and the priced lines (catalog price and cost, or a manager's price).
/// </summary>
public sealed class SalePricingTests
{
    private static readonly Guid Store = Guid.NewGuid(), Till = Guid.NewGuid();
    private static readonly Guid Bread = Guid.NewGuid(), Cheese = Guid.NewGuid(), Old = Guid.NewGuid(), Gone = Guid.NewGuid();

    private static readonly Dictionary<Guid, CatalogPrice> Catalog = new()
    {
        [Bread] = new(4000m, 2500m, VariantUnit.Piece, true),
        [Cheese] = new(90000m, null, VariantUnit.Kg, true),
        [Old] = new(1000m, 500m, VariantUnit.Piece, false),
    };

    private static SaleOrder Order(string role, SaleItem[] items, decimal paid, Guid? terminal = null, Guid? customer = null) =>
        new(Guid.NewGuid(), terminal ?? Till, Guid.NewGuid(), role, customer, items, [new Payment(PaymentMethod.Cash, paid)], null, [1, 2]);

    private static (SaleCommand? Sale, SaleResult? Refusal) Price(SaleOrder order, bool customerExists = true) =>
        SalePricing.Price(order, Store, [Till], customerExists, Catalog, DiscountLimits.Default);

    [Fact]
    public void Lines_are_priced_from_the_catalog_or_a_managers_price()
    {
        var (sale, refusal) = Price(Order(Roles.Cashier, [new(Bread, 2m, null, null), new(Cheese, 0.25m, null, null)], 30500m));
        Assert.Null(refusal);
        Assert.Equal(new[] { new SaleLine(Bread, 2m, 4000m, 0m, 2500m), new SaleLine(Cheese, 0.25m, 90000m, 0m, null) }, sale!.Lines);

        var (managed, _) = Price(Order(Roles.Manager, [new(Bread, 1m, 3000m, 100m)], 2900m));
        Assert.Equal(new SaleLine(Bread, 1m, 3000m, 100m, 2500m), managed!.Lines.Single());
    }

    [Fact]
    public void The_terminal_then_the_customer_then_every_line_is_judged_as_the_endpoint_did()
    {
        var otherTill = Guid.NewGuid();
        var (_, terminal) = Price(Order(Roles.Cashier, [new(Gone, 1m, null, null)], 1m, terminal: otherTill));
        Assert.Equal(new[] { new SaleFieldError("terminalId", $"terminal {otherTill} is not a terminal of store {Store}") }, terminal!.Errors!);

        var customer = Guid.NewGuid();
        var (_, missing) = Price(Order(Roles.Cashier, [new(Gone, 1m, null, null)], 1m, customer: customer), customerExists: false);
        Assert.Equal(new[] { new SaleFieldError("customerId", $"customer {customer} does not exist") }, missing!.Errors!);

        var (_, lines) = Price(Order(Roles.Manager, [new(Gone, 1m, null, null), new(Old, 1.5m, null, null), new(Bread, 1m, null, 5000m)], 1m));
        Assert.Equal(SaleOutcome.Invalid, lines!.Outcome);
        Assert.Equal(new[]
        {
            new SaleFieldError("items[0].variantId", $"variant {Gone} does not exist or was deleted"),
            new SaleFieldError("items[1].variantId", $"variant {Old} is not for sale (inactive)"),
            new SaleFieldError("items[1].quantity", "must be a whole number: the variant is sold by the piece"),
            new SaleFieldError("items[2].discount", "may not exceed the line's price times quantity"),
        }, lines.Errors!);
    }

    [Fact]
    public void Reductions_below_the_catalog_price_are_judged_against_the_roles_limit()
    {
        var (_, cashier) = Price(Order(Roles.Cashier, [new(Cheese, 1m, null, null), new(Bread, 1m, null, 1m)], 100000m));
        Assert.Equal((SaleOutcome.DiscountForbidden, 1, 0m), (cashier!.Outcome, cashier.Line, cashier.MaxDiscountPercent));
        Assert.Equal("items[1]: a cashier may sell at most 0% below the catalog price (tenant setting maxDiscountPercent.cashier).", cashier.Detail);

        var limits = DiscountLimits.Default with { Manager = 10m };
        var (_, manager) = SalePricing.Price(Order(Roles.Manager, [new(Bread, 1m, 3500m, null)], 3500m), Store, [Till], true, Catalog, limits);
        Assert.Equal((SaleOutcome.DiscountForbidden, 0, 10m), (manager!.Outcome, manager.Line, manager.MaxDiscountPercent));
        var (within, _) = SalePricing.Price(Order(Roles.Manager, [new(Bread, 1m, 3600m, null)], 3600m), Store, [Till], true, Catalog, limits);
        Assert.NotNull(within);
        var (owner, _) = SalePricing.Price(Order(Roles.Owner, [new(Bread, 1m, 1m, null)], 1m), Store, [Till], true, Catalog, limits with { Admin = 0m });
        Assert.NotNull(owner);
    }

    [Fact]
    public void Amounts_and_payments_are_judged_after_the_lines()
    {
        var (_, short_) = Price(Order(Roles.Cashier, [new(Bread, 1m, null, null)], 3999m));
        Assert.Equal(new[] { new SaleFieldError("payments", "payments (3999) do not cover the total (4000)") }, short_!.Errors!);

        var (_, huge) = Price(Order(Roles.Owner, [new(Bread, 1m, SalePricing.MaxMoney, null), new(Bread, 1m, null, null)], 1m));
        Assert.Equal(new[] { new SaleFieldError("items", $"the receipt's subtotal exceeds {SalePricing.MaxMoney}") }, huge!.Errors!);
    }
}
