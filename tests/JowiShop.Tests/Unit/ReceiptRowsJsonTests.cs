using System.Globalization;
using JowiShop.Grains.Abstractions.Sales;
using JowiShop.Grains.Sales;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>A receipt's lines and payments on its row (jsonb, migration 0015) read back as the old tables gave them.</summary>
public sealed class ReceiptRowsJsonTests
{
    [Fact]
    public void Lines_and_payments_round_trip_at_their_column_scales_in_any_culture()
    {
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = new CultureInfo("ru-RU"); // a decimal comma must not reach the JSON
        try
        {
            var variant = Guid.NewGuid();
            var lines = new[] { new ReceiptLine(1, variant, 1m, 12500m, 0m, 12500m, 9000m), new ReceiptLine(2, variant, 0.125m, 3.5m, 0.25m, 0.19m, 0.0001m) };
            var payments = new[] { new Payment(PaymentMethod.Cash, 100m), new Payment(PaymentMethod.Card, 0.5m) };

            var readLines = ReceiptRows.ParseLines(ReceiptRows.LinesJson(lines));
            var readPayments = ReceiptRows.ParsePayments(ReceiptRows.PaymentsJson(payments));

            Assert.Equal(lines, readLines);
            Assert.Equal(payments, readPayments);
            // As numeric(16,3), numeric(14,2) and numeric(24,4) columns gave them back.
            Assert.Equal("1.000", readLines[0].Quantity.ToString(CultureInfo.InvariantCulture));
            Assert.Equal("12500.00", readLines[0].UnitPrice.ToString(CultureInfo.InvariantCulture));
            Assert.Equal("9000.0000", readLines[0].CostOfGoods.ToString(CultureInfo.InvariantCulture));
            Assert.Equal("0.50", readPayments[1].Amount.ToString(CultureInfo.InvariantCulture));
            Assert.Equal([1, 2], readLines.Select(l => l.LineNo));
            Assert.Empty(ReceiptRows.ParsePayments(ReceiptRows.PaymentsJson([])));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
