using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Xunit;

namespace JowiShop.Tests.Cluster;

/// <summary>
/// The split topology with Orleans:Tls set on every node: silos talk to each other and the front
/// reaches the gateways over mutual TLS with one cluster certificate; a peer without it is refused.
/// </summary>
[Collection(ClusterFaults.Name)]
public sealed class OrleansTlsTests
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Silos_and_front_work_over_mutual_TLS_and_a_peer_without_the_certificate_is_refused()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var (certificatePath, keyPath) = WriteClusterCertificate(cluster.Root, "jowishop-cluster");
        cluster.Settings["Orleans:Tls:CertificatePath"] = certificatePath;
        cluster.Settings["Orleans:Tls:KeyPath"] = keyPath;

        var (silos, _, till, _) = await cluster.StartSplitAsync(silos: 2, StartDeadline);
        using var http = till;
        // Through the front's gateway connection, and grains on both silos (silo-to-silo traffic).
        var ready = await http.GetAsync("/api/v1/health/ready");
        var checks = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Contains("2 active silo(s)", checks.GetProperty("silo").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/products?limit=50")).StatusCode);

        // Both ports speak TLS with the cluster certificate; a TLS client without a certificate, and one
        // with a certificate of its own, are both cut off.
        using var clusterCertificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        var (otherCertificate, otherKey) = WriteClusterCertificate(Path.Combine(cluster.Root, "intruder"), "intruder");
        using var intruder = X509Certificate2.CreateFromPemFile(otherCertificate, otherKey);
        foreach (var port in new[] { silos[0].GatewayPort, silos[0].SiloPort })
        {
            Assert.Equal(clusterCertificate.Thumbprint, await ServerCertificateAsync(port, clusterCertificate));
            Assert.True(await IsRefusedAsync(port, null), $"port {port} accepted a TLS client without a certificate");
            Assert.True(await IsRefusedAsync(port, intruder), $"port {port} accepted a foreign certificate");
        }
    }

    /// <summary>The thumbprint of the certificate the port presents in a TLS handshake.</summary>
    private static async Task<string?> ServerCertificateAsync(int port, X509Certificate2 clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "jowishop",
            ClientCertificates = [clientCertificate],
        }, deadline.Token);
        return tls.RemoteCertificate is { } remote ? new X509Certificate2(remote).Thumbprint : null;
    }

    /// <summary>Handshakes with the port (accepting any server certificate) and reads: refused when the server closes the connection.</summary>
    private static async Task<bool> IsRefusedAsync(int port, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "jowishop",
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            }, deadline.Token);
            // TLS 1.3: the server judges the client's certificate after the client's handshake ends.
            var read = await tls.ReadAsync(new byte[1], deadline.Token);
            return read == 0;
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            return true;
        }
    }

    /// <summary>A self-signed certificate for server and client authentication, as PEM certificate and key files.</summary>
    private static (string Certificate, string Key) WriteClusterCertificate(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var (certificatePath, keyPath) = (Path.Combine(directory, "cluster.crt"), Path.Combine(directory, "cluster.key"));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }
}
