using System.Net.Mail;
using PhoneNumbers;

namespace JowiShop.ApiHost.Infrastructure;

/// <summary>Normalizes phone numbers to E.164 (libphonenumber; Uzbekistan by default) and emails to lower case.</summary>
public static class ContactFormats
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>
    /// "+998 90 123 45 67", "998901234567", "90 123-45-67", "(90) 123 45 67" all give "+998901234567".
    /// Returns null when the input is not a valid number.
    /// </summary>
    public static string? NormalizePhone(string? input)
    {
        if (string.IsNullOrWhiteSpace(input) || input.Length > 32)
            return null;
        var text = input.Trim();
        // "998..." without the plus is how Uzbek numbers are often typed.
        if (text.StartsWith("998", StringComparison.Ordinal) && text.Count(char.IsDigit) == 12)
            text = "+" + text;
        try
        {
            var number = Phones.Parse(text, "UZ");
            return Phones.IsValidNumber(number) ? Phones.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    public static string? NormalizeEmail(string? input)
    {
        if (string.IsNullOrWhiteSpace(input) || input.Length > 254)
            return null;
        var text = input.Trim();
        return MailAddress.TryCreate(text, out var address) && address.Address == text && text.Contains('.', StringComparison.Ordinal)
            ? text.ToLowerInvariant()
            : null;
    }
}
