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
        silo.Services.AddSingleton<JowiShop.Grains.Catalog.CatalogCacheCounters>();

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
        silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        silo.UseRedisClustering(o => o.ConfigurationOptions = RedisOptions(configuration, options.RedisDatabase));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // Declare a killed silo dead in seconds rather than the default ~90 s; indirect
            // probes stay on so one slow link does not evict a healthy silo.
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 3;
            o.NumVotesForDeathDeclaration = 2;
            o.EnableIndirectProbes = true;
        });
        return silo;
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
