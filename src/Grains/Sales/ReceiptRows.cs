using JowiShop.Grains.Persistence;
using JowiShop.Grains.Abstractions.Sales;
using Npgsql;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace JowiShop.Grains.Sales;

/// <summary>Reads committed receipts (with lines and payments) back: replays and GET /receipts.</summary>
public static class ReceiptRows
{
    public sealed record Stored(Receipt Receipt, byte[] RequestHash, Guid TenantId);

    /// <summary>The receipts with these ids in this tenant (any store), with their request hashes.</summary>
    public static async Task<Dictionary<Guid, Stored>> LoadAsync(NpgsqlDataSource db, Guid tenantId, IReadOnlyCollection<Guid> ids, CancellationToken ct = default)
    {
        var result = new Dictionary<Guid, Stored>();
        if (ids.Count == 0)
            return result;
        await using var cmd = db.CreateCommand(
            """
            SELECT id, receipt_number, kind, store_id, terminal_id, cashier_id, customer_id, refund_of, created_at, business_date,
                   subtotal, discount_total, total, change_due, note, sequence_no, request_hash, lines, payments
            FROM receipts WHERE tenant_id = $1 AND id = ANY($2)
            """);
        Sql.Add(cmd.Parameters, tenantId, ids.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var receipt = new Receipt(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2) == "refund" ? ReceiptKind.Refund : ReceiptKind.Sale,
                reader.GetGuid(3), reader.GetGuid(4), reader.GetGuid(5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.IsDBNull(7) ? null : reader.GetGuid(7),
                reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateOnly>(9), ParseLines(reader.GetString(17)),
                reader.GetDecimal(10), reader.GetDecimal(11), reader.GetDecimal(12), ParsePayments(reader.GetString(18)), reader.GetDecimal(13),
                reader.IsDBNull(14) ? null : reader.GetString(14), reader.GetInt64(15));
            result[receipt.Id] = new Stored(receipt, reader.GetFieldValue<byte[]>(16), tenantId);
        }
        return result;
    }

    // The receipt row's lines and payments (migration 0015): jsonb arrays of objects with short
    // keys, a line's number its position from 1. Numbers are written at their columns' scales
    // (as the receipt_items and receipt_payments views type them), so a receipt reads back as it
    // did from those tables.

    /// <summary>
    /// lines: [{"v": variant, "q": quantity, "p": unit price, "d": discount, "t": line total, "c": cost of goods}], and
    /// when the line carries VAT (0018): "r" rate id, "rn" rate name, "rp" percent (absent: exempt), "va" VAT amount,
    /// "vx" true when the VAT was added to the line (tax-exclusive prices). Lines without "r" read as no VAT information.
    /// Fiscal codes as sold (0019), each only when set: "ik" IKPU, "pk" package code, "uc" unit code, "mk" true when marked.
    /// </summary>
    public static string LinesJson(IReadOnlyList<ReceiptLine> lines)
    {
        var json = new StringBuilder(2 + lines.Count * 128).Append('[');
        foreach (var line in lines)
        {
            if (json.Length > 1)
                json.Append(',');
            json.Append("{\"v\":\"").Append(line.VariantId.ToString("D"))
                .Append("\",\"q\":").Append(line.Quantity.ToString("0.000", CultureInfo.InvariantCulture))
                .Append(",\"p\":").Append(line.UnitPrice.ToString("0.00", CultureInfo.InvariantCulture))
                .Append(",\"d\":").Append(line.Discount.ToString("0.00", CultureInfo.InvariantCulture))
                .Append(",\"t\":").Append(line.LineTotal.ToString("0.00", CultureInfo.InvariantCulture))
                .Append(",\"c\":").Append(line.CostOfGoods.ToString("0.0000", CultureInfo.InvariantCulture));
            if (line.Tax is { } tax)
            {
                json.Append(",\"r\":\"").Append(tax.RateId.ToString("D"))
                    .Append("\",\"rn\":\"").Append(JsonEncodedText.Encode(tax.RateName).ToString()).Append('"');
                if (tax.Percent is { } percent)
                    // As the rate holds it (12 stays 12): the answer and the row read back agree to the digit.
                    json.Append(",\"rp\":").Append(percent.ToString(CultureInfo.InvariantCulture));
                json.Append(",\"va\":").Append(tax.VatAmount.ToString("0.00", CultureInfo.InvariantCulture));
                if (tax.Exclusive)
                    json.Append(",\"vx\":true");
            }
            if (line.Fiscal is { } fiscal)
            {
                if (fiscal.IkpuCode is { } ikpu)
                    json.Append(",\"ik\":\"").Append(JsonEncodedText.Encode(ikpu).ToString()).Append('"');
                if (fiscal.PackageCode is { } package)
                    json.Append(",\"pk\":\"").Append(JsonEncodedText.Encode(package).ToString()).Append('"');
                if (fiscal.UnitCode is { } unit)
                    json.Append(",\"uc\":\"").Append(JsonEncodedText.Encode(unit).ToString()).Append('"');
                if (fiscal.Marked)
                    json.Append(",\"mk\":true");
            }
            json.Append('}');
        }
        return json.Append(']').ToString();
    }

    /// <summary>payments: [{"m": method, "a": amount}].</summary>
    public static string PaymentsJson(IReadOnlyList<Payment> payments)
    {
        var json = new StringBuilder(2 + payments.Count * 32).Append('[');
        foreach (var payment in payments)
        {
            if (json.Length > 1)
                json.Append(',');
            json.Append("{\"m\":\"").Append(payment.Method.ToSql())
                .Append("\",\"a\":").Append(payment.Amount.ToString("0.00", CultureInfo.InvariantCulture)).Append('}');
        }
        return json.Append(']').ToString();
    }

    public static List<ReceiptLine> ParseLines(string json)
    {
        using var document = JsonDocument.Parse(json);
        var lines = new List<ReceiptLine>(document.RootElement.GetArrayLength());
        foreach (var line in document.RootElement.EnumerateArray())
            lines.Add(new ReceiptLine(lines.Count + 1, line.GetProperty("v").GetGuid(), line.GetProperty("q").GetDecimal(),
                line.GetProperty("p").GetDecimal(), line.GetProperty("d").GetDecimal(), line.GetProperty("t").GetDecimal(), line.GetProperty("c").GetDecimal(),
                ParseTax(line), ParseFiscal(line)));
        return lines;
    }

    private static FiscalCodes? ParseFiscal(JsonElement line) => FiscalCodes.Of(
        line.TryGetProperty("ik", out var ikpu) ? ikpu.GetString() : null, line.TryGetProperty("pk", out var package) ? package.GetString() : null,
        line.TryGetProperty("uc", out var unit) ? unit.GetString() : null, line.TryGetProperty("mk", out var marked) && marked.ValueKind == JsonValueKind.True);

    private static LineTax? ParseTax(JsonElement line)
    {
        if (!line.TryGetProperty("r", out var rate))
            return null;
        return new LineTax(rate.GetGuid(), line.GetProperty("rn").GetString()!,
            line.TryGetProperty("rp", out var percent) && percent.ValueKind == JsonValueKind.Number ? percent.GetDecimal() : null,
            line.GetProperty("va").GetDecimal(), line.TryGetProperty("vx", out var exclusive) && exclusive.ValueKind == JsonValueKind.True);
    }

    public static List<Payment> ParsePayments(string json)
    {
        using var document = JsonDocument.Parse(json);
        var payments = new List<Payment>(document.RootElement.GetArrayLength());
        foreach (var payment in document.RootElement.EnumerateArray())
            payments.Add(new Payment(PaymentMethods.FromSql(payment.GetProperty("m").GetString()!), payment.GetProperty("a").GetDecimal()));
        return payments;
    }

}

public static class PaymentMethods
{
    public static string ToSql(this PaymentMethod method) => method switch
    {
        PaymentMethod.Cash => "cash",
        PaymentMethod.Card => "card",
        PaymentMethod.Transfer => "transfer",
        _ => "other",
    };

    public static PaymentMethod FromSql(string method) => method switch
    {
        "cash" => PaymentMethod.Cash,
        "card" => PaymentMethod.Card,
        "transfer" => PaymentMethod.Transfer,
        _ => PaymentMethod.Other,
    };
}
