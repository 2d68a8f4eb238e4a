using JowiShop.Grains.Persistence;
using Npgsql;

namespace JowiShop.DemoData;

// JowiShop.DemoData --connection "<npgsql>" [--reset] [--no-migrate] [--stores N] [--terminals-per-store N] [--users N]
//                   [--customers N] [--categories N] [--products N] [--variants N] [--seed N] [--no-second-tenant]
/// <summary>The command line: migrate (unless told not to), optionally reset, then seed.</summary>
public static class DemoDataCommand
{
    public static async Task<int> Main(string[] args)
    {
        const string Usage = "usage: JowiShop.DemoData --connection <npgsql connection string> [--reset] [--no-migrate] [--stores N] " +
            "[--terminals-per-store N] [--users N] [--customers N] [--categories N] [--products N] [--variants N] [--seed N] [--no-second-tenant]";

        var connection = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
        var (reset, migrate) = (false, true);
        var options = new DemoDataOptions();
        int? products = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                int Next() => int.Parse(args[++i]);
                switch (args[i])
                {
                    case "--connection": connection = args[++i]; break;
                    case "--reset": reset = true; break;
                    case "--no-migrate": migrate = false; break;
                    case "--stores": options = options with { Stores = Next() }; break;
                    case "--terminals-per-store": options = options with { TerminalsPerStore = Next() }; break;
                    case "--users": options = options with { Users = Next() }; break;
                    case "--customers": options = options with { Customers = Next() }; break;
                    case "--categories": options = options with { Categories = Next() }; break;
                    case "--products": products = Next(); break;
                    case "--variants": options = options with { Variants = Next() }; break;
                    case "--seed": options = options with { RandomSeed = Next() }; break;
                    case "--stocked-variants": options = options with { StockedVariantsPerStore = Next() }; break;
                    case "--no-second-tenant": options = options with { SecondTenant = false }; break;
                    default: throw new FormatException($"unknown argument {args[i]}");
                }
            }
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (string.IsNullOrEmpty(connection))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        // Two variants per three products by default, as in the seed's set (300 products, 450 variants).
        options = options with { Products = products ?? Math.Max(1, (int)Math.Round(options.Variants * 2 / 3.0)) };

        if (reset)
        {
            var builder = new NpgsqlConnectionStringBuilder(connection);
            var database = builder.Database!;
            builder.Database = "postgres";
            await using var admin = new NpgsqlConnection(builder.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database.Replace("\"", "\"\"")}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        if (migrate)
        {
            var applied = DatabaseMigrator.Apply(connection);
            if (applied.Count > 0)
                Console.WriteLine($"migrations applied: {string.Join(", ", applied)}");
        }
        var summary = await DemoDataSet.SeedAsync(connection, options);
        Console.WriteLine($"demo data {summary}");
        return 0;
    }
}
