namespace JowiShop.Grains.Abstractions;

/// <summary>Staff roles, from most to least privileged, as stored in users.role and the token's role claim.</summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Manager = "manager";
    public const string Cashier = "cashier";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Manager, Cashier];

    public static bool IsKnown(string? role) => role is Owner or Admin or Manager or Cashier;
}
