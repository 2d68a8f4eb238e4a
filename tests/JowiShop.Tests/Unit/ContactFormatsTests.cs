using JowiShop.ApiHost.Infrastructure;
using Xunit;

namespace JowiShop.Tests.Unit;

public sealed class ContactFormatsTests
{
    [Theory]
    [InlineData("+998901234567")]
    [InlineData("+998 90 123 45 67")]
    [InlineData("998901234567")]
    [InlineData("90 123 45 67")]
    [InlineData("(90) 123-45-67")]
    [InlineData("+998-90-123-45-67")]
    public void Uzbek_numbers_in_common_spellings_normalize_to_E164(string input) =>
        Assert.Equal("+998901234567", ContactFormats.NormalizePhone(input));

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("+998 90 123")]
    [InlineData("phone")]
    public void Invalid_numbers_are_refused(string input) => Assert.Null(ContactFormats.NormalizePhone(input));

    [Theory]
    [InlineData("Admin@Jowi.Shop", "admin@jowi.shop")]
    [InlineData(" a.b@example.com ", "a.b@example.com")]
    public void Emails_are_trimmed_and_lower_cased(string input, string expected) =>
        Assert.Equal(expected, ContactFormats.NormalizeEmail(input));

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("a@b")]
    [InlineData("Name <a@example.com>")]
    public void Invalid_emails_are_refused(string input) => Assert.Null(ContactFormats.NormalizeEmail(input));
}
