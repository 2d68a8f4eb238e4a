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
        new JwtSettings { SigningKey = new string('k', 48) }.Validate(new Environment("Production"));
    }
}
