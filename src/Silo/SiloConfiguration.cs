using System.Net;
using JowiShop.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;
using Microsoft.Extensions.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace JowiShop.Silo;

/// <summary>Silo configuration shared by the standalone silo, the co-hosting API and the tests.</summary>
public static class SiloConfiguration
{
    /// <summary>
    /// Grain services every silo needs: the PostgreSQL data source grains write through, the
    /// ADO.NET grain storage for document state, and grain collection. No clustering: the
    /// test cluster brings its own membership.
    /// </summary>
    public static ISiloBuilder AddJowiShopGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        var postgres = PostgresConnectionString(configuration);
        silo.Services.AddJowiShopDatabase(postgres);
        silo.Services.AddSingleton(sp => new JowiShop.Grains.Sales.LedgerWriter(sp.GetRequiredService<NpgsqlDataSource>(),
            configuration.GetValue("Ledger:Lanes", JowiShop.Grains.Sales.LedgerWriter.DefaultLanes),
            configuration.GetValue("Ledger:TransactionsInFlight", JowiShop.Grains.Sales.LedgerWriter.DefaultTransactionsInFlight)));
        silo.Services.AddSingleton<JowiShop.Grains.Catalog.CatalogCacheCounters>();
        silo.AddIncomingGrainCallFilter<JowiShop.Grains.Persistence.DatabaseFailureFilter>();
        silo.AddOutgoingGrainCallFilter<ReadRetryFilter>();

        silo.AddAdoNetGrainStorage(GrainStorage.Name, (OptionsBuilder<AdoNetGrainStorageOptions> options) =>
            options.Configure<Serializer>((o, serializer) =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = postgres;
                // Orleans' own version-tolerant binary format: state types carry [Alias] and [Id],
                // so renaming a CLR type does not orphan stored documents (the default JSON
                // serializer writes CLR type names).
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));

        silo.Configure<GrainCollectionOptions>(o =>
            o.CollectionAge = configuration.GetValue("Orleans:CollectionAge", TimeSpan.FromMinutes(15)));
        return silo;
    }

    /// <summary>Cluster membership in Redis and this silo's endpoints.</summary>
    public static ISiloBuilder UseJowiShopClustering(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.ConfigureEndpoints(AdvertisedAddress(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        silo.UseRedisClustering(o => o.ConfigurationOptions = RedisOptions(configuration, options.RedisDatabase));
        silo.UseJowiShopTls(configuration);
        silo.Services.Configure<ExceptionSerializationOptions>(RedisExceptionsCrossTheWire);
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = options.CallTimeout);
        silo.Services.AddHostedService<MembershipOptionsLog>();
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // Declare a killed silo dead in seconds rather than the default ~90 s; indirect
            // probes stay on so one slow link does not evict a healthy silo.
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 3;
            o.NumVotesForDeathDeclaration = 2;
            o.EnableIndirectProbes = true;
        });
        return silo;
    }

    /// <summary>
    /// A membership read that fails while Redis is away (the management grain's host list, for one)
    /// throws StackExchange.Redis exceptions; without this Orleans cannot serialize them and the
    /// caller gets a codec failure instead of the real cause.
    /// </summary>
    public static void RedisExceptionsCrossTheWire(ExceptionSerializationOptions o) =>
        o.SupportedNamespacePrefixes.Add("StackExchange.Redis");

    /// <summary>"auto" (containers, pods): this host's first IPv4 address; otherwise the address given.</summary>
    private static IPAddress AdvertisedAddress(string configured) =>
        configured == "auto"
            ? Dns.GetHostAddresses(Dns.GetHostName()).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            : IPAddress.Parse(configured);

    /// <summary>An API front as a client of standalone silos, found through the Redis membership table.</summary>
    public static IClientBuilder UseJowiShopClustering(this IClientBuilder client, IConfiguration configuration)
    {
        var options = configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = options.CallTimeout);
        client.AddOutgoingGrainCallFilter<ReadRetryFilter>();
        client.UseRedisClustering(o => o.ConfigurationOptions = RedisOptions(configuration, options.RedisDatabase));
        client.UseJowiShopTls(configuration);
        client.Services.Configure<ExceptionSerializationOptions>(RedisExceptionsCrossTheWire);
        // Fronts and silos start in any order (a deployment restarts them independently): keep
        // trying to reach a gateway instead of failing the front's start-up.
        client.UseConnectionRetryFilter(async (_, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            return true;
        });
        return client;
    }

    public static IServiceCollection AddJowiShopDatabase(this IServiceCollection services, string connectionString)
    {
        services.AddSingleton(_ =>
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            // The same few statements run thousands of times a second: let Npgsql prepare them
            // after a second use so PostgreSQL skips parsing and planning (unless configured otherwise).
            if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            {
                builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
                builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            }
            // Nothing here changes session state (no SET, temporary tables or LISTEN), so a pooled
            // connection needs no reset: Npgsql would otherwise send one with its next statement.
            builder.ConnectionStringBuilder.NoResetOnClose = true;
            return builder.Build();
        });
        return services;
    }

    public static string PostgresConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("Postgres")
        ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not configured.");

    public static ConfigurationOptions RedisOptions(IConfiguration configuration, int database = 0)
    {
        var connection = configuration.GetConnectionString("Redis")
            ?? throw new InvalidOperationException("ConnectionStrings:Redis is not configured.");
        var options = ConfigurationOptions.Parse(connection);
        options.DefaultDatabase ??= database;
        options.AbortOnConnectFail = false;
        return options;
    }
}
