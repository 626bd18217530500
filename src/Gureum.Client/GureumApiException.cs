using System.Net;
using System.Text.Json;

namespace Gureum.Client;

/// <summary>
/// A non-2xx answer from the server, read from its <c>application/problem+json</c> body (RFC 9457).
/// Rely on <see cref="Status"/> and <see cref="Type"/> (e.g. <c>urn:gureum:problem:not-found</c>), never on the detail text.
/// </summary>
public sealed class GureumApiException(
    int status, string? type, string title, string? detail, IReadOnlyDictionary<string, string[]> errors, string? traceId)
    : Exception(detail is null ? $"{title} (HTTP {status})" : $"{title}: {detail} (HTTP {status})")
{
    public int Status { get; } = status;
    public string? Type { get; } = type;
    public string Title { get; } = title;
    public string? Detail { get; } = detail;

    /// <summary>Invalid fields, each with its messages; empty when the problem names none.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public string? TraceId { get; } = traceId;

    /// <summary>How long the server asked to wait before trying again (its <c>Retry-After</c> header), e.g. on a 429 for a rate limit.</summary>
    public TimeSpan? RetryAfter { get; init; }

    internal static async Task<GureumApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var fallbackTitle = response.ReasonPhrase is { Length: > 0 } reason ? reason : ((HttpStatusCode)status).ToString();
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException)
        {
            body = "";
        }
        var retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero,
            _ => (TimeSpan?)null,
        };
        if (TryParseProblem(status, body, retryAfter) is { } problem)
        {
            return problem;
        }
        var text = body.Trim();
        return new GureumApiException(status, null, fallbackTitle, text.Length == 0 ? null : text[..Math.Min(text.Length, 500)],
            new Dictionary<string, string[]>(), null) { RetryAfter = retryAfter };
    }

    private static GureumApiException? TryParseProblem(int status, string body, TimeSpan? retryAfter)
    {
        if (body.Length == 0)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            string? Text(string name) =>
                root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var errors = new Dictionary<string, string[]>();
            if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in fields.EnumerateObject())
                {
                    errors[field.Name] = field.Value.ValueKind switch
                    {
                        JsonValueKind.Array => [.. field.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m.GetRawText())],
                        JsonValueKind.String => [field.Value.GetString()!],
                        _ => [field.Value.GetRawText()],
                    };
                }
            }
            var title = Text("title") ?? ((HttpStatusCode)status).ToString();
            return new GureumApiException(status, Text("type"), title, Text("detail"), errors, Text("traceId")) { RetryAfter = retryAfter };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
