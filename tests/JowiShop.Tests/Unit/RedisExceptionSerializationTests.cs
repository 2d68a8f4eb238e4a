using JowiShop.Silo;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using StackExchange.Redis;
using Xunit;

namespace JowiShop.Tests.Unit;

/// <summary>
/// A membership read that fails while Redis is away must reach the caller as the Redis error,
/// not as Orleans' "no codec" failure (found by the Redis outage test in CI).
/// </summary>
public class RedisExceptionSerializationTests
{
    [Fact]
    public void A_redis_connection_failure_crosses_the_wire_with_its_message()
    {
        var services = new ServiceCollection()
            .AddSerializer()
            .Configure<ExceptionSerializationOptions>(SiloConfiguration.RedisExceptionsCrossTheWire)
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var failure = MembershipReadFailure();

        var copy = Assert.IsType<InvalidOperationException>(serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(failure)));

        Assert.Equal("membership read failed", copy.Message);
        var inner = Assert.IsType<RedisConnectionException>(copy.InnerException);
        Assert.Contains("No connection is active/available", inner.Message);
    }

    [Fact]
    public void Without_the_option_orleans_has_no_codec_for_it()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var failure = MembershipReadFailure();

        Assert.Throws<CodecNotFoundException>(() => serializer.SerializeToArray<Exception>(failure));
    }

    private static InvalidOperationException MembershipReadFailure() =>
        new("membership read failed", new RedisConnectionException(
            ConnectionFailureType.UnableToConnect, CommandFlags.None, "No connection is active/available", innerException: null, CommandStatus.Unknown));
}
