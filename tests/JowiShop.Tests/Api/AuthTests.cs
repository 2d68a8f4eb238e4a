using System.IdentityModel.Tokens.Jwt;
using System.Net;
using System.Net.Http.Json;
using JowiShop.ApiHost.Features.Auth;
using JowiShop.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace JowiShop.Tests.Api;

public sealed class AuthTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static object Registration(string suffix, string? email = null, string? phone = null) => new
    {
        businessName = $"Biz {suffix}",
        ownerName = "Dilnoza Karimova",
        email = email ?? $"{suffix}@example.com",
        phone = phone ?? $"+99890{Random.Shared.Next(1_000_000, 9_999_999)}",
        password = "Correct#Horse1",
    };

    [Fact]
    public async Task Register_creates_tenant_owner_and_first_store()
    {
        var client = api.Factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register", Registration("reg1"));
        var body = await response.ReadAsync<RegisterResponse>(HttpStatusCode.Created);

        Assert.Equal("owner", body.User.Role);
        Assert.Equal(body.TenantId, body.User.TenantId);
        Assert.NotNull(response.Headers.Location);

        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand(
            "SELECT (SELECT count(*) FROM stores WHERE tenant_id = $1 AND id = $2), (SELECT count(*) FROM employees WHERE tenant_id = $1)");
        cmd.Parameters.AddWithValue(body.TenantId);
        cmd.Parameters.AddWithValue(body.StoreId);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Equal(1L, reader.GetInt64(1));
    }

    [Fact]
    public async Task Duplicate_email_or_phone_is_409_and_writes_nothing()
    {
        var client = api.Factory.CreateClient();
        (await client.PostAsJsonAsync("/api/v1/auth/register", Registration("dup", email: "dup@example.com", phone: "+998 91 765 43 21")))
            .EnsureSuccessStatusCode();

        var sameEmail = await client.PostAsJsonAsync("/api/v1/auth/register", Registration("dup2", email: "DUP@example.com"));
        await sameEmail.AssertProblemAsync(HttpStatusCode.Conflict, "auth.email_taken");

        // The same number in another common spelling.
        var samePhone = await client.PostAsJsonAsync("/api/v1/auth/register", Registration("dup3", phone: "998917654321"));
        await samePhone.AssertProblemAsync(HttpStatusCode.Conflict, "auth.phone_taken");

        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT count(*) FROM tenants WHERE name IN ('Biz dup2', 'Biz dup3')");
        Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Register_names_every_invalid_field()
    {
        var client = api.Factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/register",
            new { businessName = "", ownerName = new string('x', 201), email = "not-an-email", phone = "12", password = "short" });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation.failed");
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "businessName", "ownerName", "email", "phone", "password" })
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
    }

    [Fact]
    public async Task Malformed_json_is_a_400_problem()
    {
        var client = api.Factory.CreateClient();
        var response = await client.PostAsync("/api/v1/auth/login",
            new StringContent("{\"login\": 5", System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "request.malformed");
        Assert.Contains("login", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Login_by_email_or_phone_returns_a_token_with_user_tenant_and_role()
    {
        var client = api.Factory.CreateClient();
        var registered = await (await client.PostAsJsonAsync("/api/v1/auth/register",
            Registration("login1", email: "login1@example.com", phone: "+998931112233"))).ReadAsync<RegisterResponse>(HttpStatusCode.Created);

        foreach (var login in new[] { "login1@example.com", "LOGIN1@example.com", "+998931112233", "+998 93 111 22 33" })
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { login, password = "Correct#Horse1" });
            var body = await response.ReadAsync<LoginResponse>();
            Assert.Equal(registered.User.Id, body.User.Id);
            Assert.Equal(registered.TenantId, body.User.TenantId);
            Assert.Equal("owner", body.User.Role);
            Assert.True(body.ExpiresIn > 0);

            var token = new JwtSecurityTokenHandler().ReadJwtToken(body.AccessToken);
            Assert.Equal("HS256", token.Header.Alg);
            Assert.Equal(registered.User.Id.ToString(), token.Subject);
            Assert.Equal(registered.TenantId.ToString(), token.Claims.Single(c => c.Type == "tenant_id").Value);
            Assert.Equal("owner", token.Claims.Single(c => c.Type == "role").Value);
        }
    }

    [Fact]
    public async Task Wrong_password_and_unknown_user_answer_the_same_401()
    {
        var client = api.Factory.CreateClient();
        (await client.PostAsJsonAsync("/api/v1/auth/register", Registration("pw", email: "pw@example.com"))).EnsureSuccessStatusCode();

        var wrong = await client.PostAsJsonAsync("/api/v1/auth/login", new { login = "pw@example.com", password = "Wrong#Horse1" });
        var unknown = await client.PostAsJsonAsync("/api/v1/auth/login", new { login = "nobody@example.com", password = "Wrong#Horse1" });
        var a = await wrong.AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        var b = await unknown.AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.invalid_credentials");
        Assert.Equal(a.GetProperty("detail").GetString(), b.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Passwords_are_stored_as_salted_pbkdf2_hashes()
    {
        var client = api.Factory.CreateClient();
        (await client.PostAsJsonAsync("/api/v1/auth/register", Registration("hash1", email: "hash1@example.com"))).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/auth/register", Registration("hash2", email: "hash2@example.com"))).EnsureSuccessStatusCode();

        await using var db = NpgsqlDataSource.Create(api.Factory.PostgresConnectionString);
        await using var cmd = db.CreateCommand("SELECT password_hash FROM users WHERE email IN ('hash1@example.com', 'hash2@example.com')");
        var hashes = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                hashes.Add(reader.GetString(0));

        Assert.Equal(2, hashes.Count);
        Assert.All(hashes, h => Assert.DoesNotContain("Correct#Horse1", h));
        // Identity v3 format: marker byte 0x01, then PBKDF2 parameters, salt and subkey.
        Assert.All(hashes, h => Assert.Equal(0x01, Convert.FromBase64String(h)[0]));
        Assert.NotEqual(hashes[0], hashes[1]); // same password, different salts
    }

    [Fact]
    public async Task Requests_without_a_valid_token_are_401_problems()
    {
        var client = api.Factory.CreateClient();
        await (await client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.unauthenticated");

        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not.a.token");
        // A token that is there but unreadable says so (issue 15: missing, malformed, expired and ended are told apart).
        var malformed = await (await client.GetAsync("/api/v1/stores")).AssertProblemAsync(HttpStatusCode.Unauthorized, "auth.token_invalid");
        Assert.Contains("malformed", malformed.GetProperty("detail").GetString());
    }
}
