namespace JowiShop.Grains.Abstractions.Catalog;

/// <summary>How a variant is sold: by the piece, or weighed / measured.</summary>
public enum VariantUnit { Piece, Kg, L }

public static class VariantUnits
{
    public static string ToSql(this VariantUnit unit) => unit switch
    {
        VariantUnit.Kg => "kg",
        VariantUnit.L => "l",
        _ => "piece",
    };

    public static VariantUnit FromSql(string unit) => unit switch
    {
        "kg" => VariantUnit.Kg,
        "l" => VariantUnit.L,
        _ => VariantUnit.Piece,
    };
}
