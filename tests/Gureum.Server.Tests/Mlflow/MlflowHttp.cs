using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Gureum.Server.Tests.Mlflow;

/// <summary>One MLflow REST answer: the status and the JSON body (null when the body is not JSON).</summary>
public sealed record MlflowAnswer(int Status, JsonNode? Body, string Text)
{
    public string? ErrorCode => Body is JsonObject o && o["error_code"] is JsonValue v ? v.ToString() : null;

    public override string ToString() => $"{Status} {Text}";
}

/// <summary>Plain calls to the MLflow API under <see cref="Prefix"/> ("" for the root, "/v1/projects/{id}/mlflow" for a project URI).</summary>
public sealed class MlflowHttp(HttpClient client, string prefix = "")
{
    public string Prefix { get; } = prefix.TrimEnd('/');

    public Task<MlflowAnswer> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, JsonContent.Create(body));

    public Task<MlflowAnswer> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, JsonContent.Create(body));

    public Task<MlflowAnswer> DeleteAsync(string path, object? body = null) =>
        SendAsync(HttpMethod.Delete, path, body is null ? null : JsonContent.Create(body));

    public Task<MlflowAnswer> GetAsync(string path, params (string Key, string Value)[] query) =>
        SendAsync(HttpMethod.Get, path + Query(query), null);

    public Task<MlflowAnswer> PutRawAsync(string path, string content) => PutRawAsync(path, Encoding.UTF8.GetBytes(content));

    public Task<MlflowAnswer> PutRawAsync(string path, byte[] content)
    {
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new("application/octet-stream");
        return SendAsync(HttpMethod.Put, path, body);
    }

    /// <summary>POST and expect 200; returns the body.</summary>
    public async Task<JsonNode> OkPostAsync(string path, object body)
    {
        var answer = await PostAsync(path, body);
        Assert.True(answer.Status == 200, $"POST {Prefix}{path}: {answer}");
        return answer.Body!;
    }

    public async Task<JsonNode> OkGetAsync(string path, params (string Key, string Value)[] query)
    {
        var answer = await GetAsync(path, query);
        Assert.True(answer.Status == 200, $"GET {Prefix}{path}{Query(query)}: {answer}");
        return answer.Body!;
    }

    private async Task<MlflowAnswer> SendAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, Prefix + path) { Content = content };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        try
        {
            body = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (System.Text.Json.JsonException)
        {
            // not JSON (an artifact download, or a non-MLflow error page); Text has it
        }
        return new MlflowAnswer((int)response.StatusCode, body, text);
    }

    private static string Query((string Key, string Value)[] query) =>
        query.Length == 0 ? "" : "?" + string.Join("&", query.Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value)}"));
}
