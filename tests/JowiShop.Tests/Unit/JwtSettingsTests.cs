using JowiShop.ApiHost.Infrastructure;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace JowiShop.Tests.Unit;

public sealed class JwtSettingsTests
{
    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "test";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    [Fact]
    public void The_development_key_is_refused_in_production()
    {
        var settings = new JwtSettings { SigningKey = JwtSettings.DevelopmentSigningKey };
        var error = Assert.Throws<InvalidOperationException>(() => settings.Validate(new Environment("Production")));
        Assert.Contains("development key", error.Message);
        settings.Validate(new Environment("Development"));
    }

    [Fact]
    public void A_missing_or_short_key_is_refused_everywhere()
    {
        Assert.Throws<InvalidOperationException>(() => new JwtSettings().Validate(new Environment("Development")));
        Assert.Throws<InvalidOperationException>(() => new JwtSettings { SigningKey = "short" }.Validate(new Environment("Production")));
        new JwtSettings { SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)) }
            .Validate(new Environment("Production"));
    }

    [Theory]
    [InlineData("change-me-to-at-least-32-random-bytes-base64")] // deploy/k8s/jowishop.yaml shipped this one
    [InlineData("replace-with-the-output-of-openssl-rand-base64-48")]
    [InlineData("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk")]
    [InlineData("0123456789012345678901234567890123456789")]
    [InlineData("abcabcabcabcabcabcabcabcabcabcabcabcabc")]
    [InlineData("our-super-secret-jwt-key-for-the-shop-2026")]
    public void Published_placeholder_and_low_entropy_keys_are_refused_outside_development(string key)
    {
        var settings = new JwtSettings { SigningKey = key };
        var error = Assert.Throws<InvalidOperationException>(() => settings.Validate(new Environment("Production")));
        Assert.Contains("Jwt:SigningKey", error.Message);
        Assert.Throws<InvalidOperationException>(() => settings.Validate(new Environment("Staging")));
        settings.Validate(new Environment("Development"));
    }

    [Fact]
    public void Keys_generated_as_the_docs_say_pass()
    {
        // openssl rand -base64 48, and the 48 random bytes as hex that deploy/cluster and compose generate.
        for (var i = 0; i < 200; i++)
        {
            var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(48);
            Assert.Null(SigningKeyPolicy.Problem(Convert.ToBase64String(bytes)));
            Assert.Null(SigningKeyPolicy.Problem(Convert.ToHexStringLower(bytes)));
        }
    }
}
