using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace JowiShop.Silo;

/// <summary>
/// The "Orleans:Tls" section: mutual TLS for silo-to-silo and client-to-gateway connections (off
/// unless <see cref="CertificatePath"/> is set). Every silo and every front of a cluster must agree:
/// a node with TLS and a node without cannot talk to each other.
/// </summary>
public sealed class OrleansTlsSettings
{
    public const string Section = "Orleans:Tls";

    /// <summary>This node's certificate: PEM (with <see cref="KeyPath"/>) or PKCS#12 (.pfx, .p12). Unset: TLS off.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of a PKCS#12 file, if any.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// PEM file with the certificate authorities a peer's certificate must chain to (one CA issuing a
    /// certificate per node). Unset: every node uses the same certificate, and a peer must present
    /// exactly this node's one.
    /// </summary>
    public string? CaPath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

public static class OrleansTls
{
    public static OrleansTlsSettings Settings(IConfiguration configuration) =>
        configuration.GetSection(OrleansTlsSettings.Section).Get<OrleansTlsSettings>() ?? new OrleansTlsSettings();

    /// <summary>Silo-to-silo and gateway connections over mutual TLS, when configured.</summary>
    public static ISiloBuilder UseJowiShopTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        var settings = Settings(configuration);
        return settings.Enabled ? silo.UseTls(options => Configure(options, settings)) : silo;
    }

    /// <summary>A front's connections to the gateways over mutual TLS, when configured.</summary>
    public static IClientBuilder UseJowiShopTls(this IClientBuilder client, IConfiguration configuration)
    {
        var settings = Settings(configuration);
        return settings.Enabled ? client.UseTls(options => Configure(options, settings)) : client;
    }

    private static void Configure(TlsOptions options, OrleansTlsSettings settings)
    {
        var certificate = LoadCertificate(settings);
        var authorities = string.IsNullOrWhiteSpace(settings.CaPath) ? null : LoadAuthorities(settings.CaPath);
        options.LocalCertificate = certificate;
        // Both ends present a certificate and both check the other's: only holders of the cluster's
        // certificate (or of one its CA issued) can join the cluster or call a gateway.
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = Validator(certificate, authorities);
    }

    public static X509Certificate2 LoadCertificate(OrleansTlsSettings settings)
    {
        var path = settings.CertificatePath!;
        if (!File.Exists(path))
            throw new InvalidOperationException($"{OrleansTlsSettings.Section}:CertificatePath: {path} does not exist.");
        X509Certificate2 certificate;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, settings.CertificatePassword);
        else if (!string.IsNullOrWhiteSpace(settings.KeyPath))
            certificate = X509Certificate2.CreateFromPemFile(path, settings.KeyPath);
        else
            throw new InvalidOperationException(
                $"{OrleansTlsSettings.Section}: a PEM certificate needs KeyPath (or give a .pfx / .p12 CertificatePath).");
        if (!certificate.HasPrivateKey)
            throw new InvalidOperationException($"{OrleansTlsSettings.Section}: {path} holds no private key.");
        return certificate;
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(path);
        return authorities.Count > 0
            ? authorities
            : throw new InvalidOperationException($"{OrleansTlsSettings.Section}:CaPath: {path} holds no certificate.");
    }

    /// <summary>
    /// Accepts a peer whose certificate chains to one of <paramref name="authorities"/> (or, without
    /// authorities, is this node's own certificate) and is within its validity period. Host names are
    /// not checked: silos are reached at addresses from the membership table (pod IPs), and the trust
    /// anchor is the cluster's own CA or certificate, not a public one.
    /// </summary>
    public static RemoteCertificateValidator Validator(X509Certificate2 local, X509Certificate2Collection? authorities) =>
        (certificate, presentedChain, _) =>
        {
            if (authorities is null)
            {
                var now = DateTime.Now;
                return certificate.RawDataMemory.Span.SequenceEqual(local.RawDataMemory.Span)
                    && certificate.NotBefore <= now && now <= certificate.NotAfter;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // Intermediates the peer sent along.
            if (presentedChain is not null)
                foreach (var element in presentedChain.ChainElements)
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            return chain.Build(certificate);
        };
}
