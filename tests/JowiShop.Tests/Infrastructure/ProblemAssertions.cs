using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace JowiShop.Tests.Infrastructure;

public static class ProblemAssertions
{
    /// <summary>Asserts the status and that the body is a problem document with this code; returns the document.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        ProblemSchema.AssertValid(problem);
        return problem;
    }

    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        if (response.StatusCode != status)
            Assert.Fail($"expected {(int)status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>(JsonOptions))!;
    }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>
/// The document's Problem schema (the same object ApiContract puts in the document, serialized as
/// OpenAPI 3.1 writes it): every problem answer a test asserts is validated against it, so an answer
/// with a field the contract does not describe, or of another type, fails the test that received it.
/// </summary>
public static class ProblemSchema
{
    public static readonly JsonElement Json = Serialize();

    private static readonly global::Json.Schema.JsonSchema Schema = global::Json.Schema.JsonSchema.FromText(Json.GetRawText());

    private static JsonElement Serialize()
    {
        using var text = new StringWriter();
        JowiShop.ApiHost.Infrastructure.ApiContract.Problem().SerializeAsV31(new Microsoft.OpenApi.OpenApiJsonWriter(text));
        return JsonDocument.Parse(text.ToString()).RootElement.Clone();
    }

    public static void AssertValid(JsonElement problem)
    {
        var result = Schema.Evaluate(problem, new global::Json.Schema.EvaluationOptions { OutputFormat = global::Json.Schema.OutputFormat.List });
        Assert.True(result.IsValid, $"not a Problem: {problem}\n{JsonSerializer.Serialize(result)}");
        // The document leaves extensions open for clients; the tests hold the server to the fields it documents.
        var documented = Json.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var undocumented = problem.EnumerateObject().Select(p => p.Name).Where(n => !documented.Contains(n)).ToList();
        Assert.True(undocumented.Count == 0, $"undocumented Problem fields {string.Join(", ", undocumented)}: {problem}");
    }
}
