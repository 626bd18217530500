using System.Net;
using System.Text.Json;

namespace Gureum.Server.Tests.Infrastructure;

public static class Problems
{
    /// <summary>Asserts an RFC 9457 answer with our stable type, a detail, and no internals; returns the body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("urn:gureum:problem:" + type, body.GetProperty("type").GetString());
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("detail").GetString()));
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("/work/", text);
        return body;
    }

    public static async Task AssertFieldErrorAsync(HttpResponseMessage response, string field)
    {
        var body = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), $"no error for '{field}' in {body}");
    }
}
