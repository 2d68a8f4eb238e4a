using JowiShop.ApiHost.Features.Receipts;
using JowiShop.Grains.Abstractions.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// A sale's or refund's request hash is stored with it and compared on every retry, also by later
/// releases: if its canonical form changed, a till retrying a sale whose answer was lost across a
/// deploy would get a 409 instead of its receipt. These pin the forms to their hashes; a failure
/// here means the form changed: grow it only as RequestHash says (new fields last, only when present).
/// </summary>
public sealed class RequestHashFormTests
{
    private static readonly Guid Store = Guid.Parse("0a000000-0000-4000-8000-000000000010");
    private static readonly Guid Terminal = Guid.Parse("0a000000-0000-4000-8000-000000000020");
    private static readonly Guid Variant = Guid.Parse("0a000000-0000-4000-8000-000000000030");
    private static readonly Guid Original = Guid.Parse("0a000000-0000-4000-8000-000000000040");

    [Fact]
    public void A_sales_hash_is_the_one_it_always_was()
    {
        var sale = new ReceiptRequest(Guid.NewGuid(), Store, Terminal, null,
            [new ReceiptItemRequest(Variant, 1.5m, null, 0.10m)], [new PaymentRequest(PaymentMethod.Cash, 20m)], "note");
        Assert.Equal(PinnedSale, Convert.ToHexString(ReceiptEndpoints.SaleHash(sale)));
    }

    [Fact]
    public void A_sales_hash_ignores_the_id_and_how_the_numbers_were_spelled()
    {
        var one = new ReceiptRequest(Guid.NewGuid(), Store, Terminal, null,
            [new ReceiptItemRequest(Variant, 1.5m, null, 0.10m)], [new PaymentRequest(PaymentMethod.Cash, 20m)], "note");
        var other = one with { Id = Guid.NewGuid(), Items = [new ReceiptItemRequest(Variant, 1.500m, null, 0.1m)], Payments = [new PaymentRequest(PaymentMethod.Cash, 20.00m)] };
        Assert.Equal(ReceiptEndpoints.SaleHash(one), ReceiptEndpoints.SaleHash(other));
        Assert.NotEqual(ReceiptEndpoints.SaleHash(one), ReceiptEndpoints.SaleHash(one with { Note = "another" }));
    }

    [Fact]
    public void A_refunds_hash_is_the_one_it_always_was()
    {
        var refund = new RefundRequest(Guid.NewGuid(), Terminal, [new RefundItemRequest(Variant, 1m)], null);
        Assert.Equal(PinnedRefund, Convert.ToHexString(ReceiptEndpoints.RefundHash(Original, refund)));
    }

    // SHA-256 of ["sale","0a000000-0000-4000-8000-000000000010","0a000000-0000-4000-8000-000000000020",null,[["0a000000-0000-4000-8000-000000000030","1.5",null,"0.1"]],[["Cash","20"]],"note"]
    private const string PinnedSale = "0D97AA51B19B008B870FB1A7B50F61D597B59B49D6EE998A0BCABDB7E8636016";
    // SHA-256 of ["refund","0a000000-0000-4000-8000-000000000040","0a000000-0000-4000-8000-000000000020",[["0a000000-0000-4000-8000-000000000030","1"]],[]]
    private const string PinnedRefund = "CA1AA86E8DE968C548A572E6615EA71FCC858DE1CF30450207B6439A44B2D4BC";
}
