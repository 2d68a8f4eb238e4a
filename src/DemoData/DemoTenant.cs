namespace JowiShop.DemoData;

/// <summary>The fixed ids and logins of the demo data set (demo only: never use these credentials anywhere real).</summary>
public static class DemoTenant
{
    public static readonly Guid TenantId = Guid.Parse("0a000000-0000-4000-8000-000000000001");
    public static readonly Guid OwnerUserId = Guid.Parse("0a000000-0000-4000-8000-000000000101");
    public static readonly Guid CentralStoreId = Guid.Parse("0a000000-0000-4000-8000-000000000201");
    public static readonly Guid ChilanzarStoreId = Guid.Parse("0a000000-0000-4000-8000-000000000202");
    public static readonly Guid CentralTerminalId = Guid.Parse("0a000000-0000-4000-8000-000000000301");
    public static readonly Guid ChilanzarTerminalId = Guid.Parse("0a000000-0000-4000-8000-000000000302");

    public static readonly Guid SecondTenantId = Guid.Parse("0b000000-0000-4000-8000-000000000001");
    public static readonly Guid SecondOwnerUserId = Guid.Parse("0b000000-0000-4000-8000-000000000101");
    public static readonly Guid SecondStoreId = Guid.Parse("0b000000-0000-4000-8000-000000000201");

    public const string Name = "JOWi Demo";
    public const string OwnerEmail = "admin@jowi.shop";
    public const string OwnerPhone = "+998901234567";
    public const string Password = "Admin#12345";
    public const string SecondName = "Second Demo Shop";
    public const string SecondOwnerEmail = "owner@second.shop";
    public const string SecondOwnerPhone = "+998935550000";
}
