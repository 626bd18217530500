using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gureum.Client;

/// <summary>
/// Typed client for the Gureum HTTP API. Every method throws <see cref="GureumApiException"/> for a non-2xx answer and
/// lets <see cref="HttpRequestException"/> through when the server cannot be reached.
/// </summary>
public sealed class GureumClient : IDisposable
{
    /// <summary>The wire format: camelCase, enums as camelCase strings, nulls left out of requests.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string? _apiKey;

    /// <summary>Uses <paramref name="http"/> as it is (its BaseAddress points at the server); <paramref name="apiKey"/>, when given, is sent with every request.</summary>
    public GureumClient(HttpClient http, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _apiKey = string.IsNullOrWhiteSpace(apiKey) ? null : apiKey.Trim();
    }

    /// <summary>Talks to the server at <paramref name="baseUrl"/> (e.g. http://127.0.0.1:8080) with its own HttpClient.</summary>
    public GureumClient(Uri baseUrl, string? apiKey)
        : this(new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) }) { BaseAddress = WithTrailingSlash(baseUrl) }, apiKey)
    {
        _ownsHttp = true;
    }

    // ---- projects ----

    public Task<Project> CreateProjectAsync(string name, string? description = null, CancellationToken ct = default) =>
        SendAsync<Project>(HttpMethod.Post, "v1/projects", new { name, description }, ct);

    public Task<Page<Project>> ListProjectsAsync(int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<Project>>(HttpMethod.Get, "v1/projects" + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("after", after)), null, ct);

    /// <param name="project">The project's id or name.</param>
    public Task<Project> GetProjectAsync(string project, CancellationToken ct = default) =>
        SendAsync<Project>(HttpMethod.Get, ProjectPath(project), null, ct);

    public Task DeleteProjectAsync(string project, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, ProjectPath(project), null, ct);

    // ---- project keys ----

    /// <param name="scopes">Any of project:write, project:read, predict, ai; none: project:read.</param>
    public Task<CreatedApiKey> CreateKeyAsync(
        string project, string name, IReadOnlyList<string>? scopes = null, DateTimeOffset? expiresAt = null, CancellationToken ct = default) =>
        SendAsync<CreatedApiKey>(HttpMethod.Post, ProjectPath(project, "keys"),
            new { name, scopes = scopes is { Count: > 0 } ? scopes : null, expiresAt }, ct);

    public Task<Page<ApiKey>> ListKeysAsync(string project, int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<ApiKey>>(HttpMethod.Get,
            ProjectPath(project, "keys") + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("after", after)), null, ct);

    public Task RevokeKeyAsync(string project, string keyId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, ProjectPath(project, "keys/" + Uri.EscapeDataString(keyId)), null, ct);

    // ---- admin keys ----

    public Task<CreatedApiKey> CreateAdminKeyAsync(string name, DateTimeOffset? expiresAt = null, CancellationToken ct = default) =>
        SendAsync<CreatedApiKey>(HttpMethod.Post, "v1/admin/keys", new { name, expiresAt }, ct);

    public Task<Page<ApiKey>> ListAdminKeysAsync(int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<ApiKey>>(HttpMethod.Get, "v1/admin/keys" + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("after", after)), null, ct);

    public Task RevokeAdminKeyAsync(string keyId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, "v1/admin/keys/" + Uri.EscapeDataString(keyId), null, ct);

    // ---- jobs ----

    /// <param name="kind">A submittable job kind, e.g. <c>diagnostics.wait</c>.</param>
    /// <param name="input">The kind's input object, if it takes one.</param>
    public Task<Job> SubmitJobAsync(string project, string kind, JsonElement? input = null, CancellationToken ct = default) =>
        SendAsync<Job>(HttpMethod.Post, ProjectPath(project, "jobs"), new { kind, input }, ct);

    /// <summary>Newest first; pass <see cref="Page{T}.Next"/> as <paramref name="before"/> for older jobs.</summary>
    public Task<Page<Job>> ListJobsAsync(
        string project, JobStatus? status = null, int? limit = null, string? before = null, CancellationToken ct = default) =>
        SendAsync<Page<Job>>(HttpMethod.Get, ProjectPath(project, "jobs") + Query(
            ("status", status is { } s ? JsonNamingPolicy.CamelCase.ConvertName(s.ToString()) : null),
            ("limit", limit?.ToString(CultureInfo.InvariantCulture)),
            ("before", before)), null, ct);

    public Task<Job> GetJobAsync(string project, string jobId, CancellationToken ct = default) =>
        SendAsync<Job>(HttpMethod.Get, JobPath(project, jobId), null, ct);

    /// <summary>Asks a queued or running job to stop; it ends as cancelled shortly after (409 when it already ended).</summary>
    public Task<Job> CancelJobAsync(string project, string jobId, CancellationToken ct = default) =>
        SendAsync<Job>(HttpMethod.Post, JobPath(project, jobId) + "/cancel", null, ct);

    /// <summary>
    /// The job's events as they happen (Server-Sent Events), from the first one; the sequence ends after the terminal status
    /// event. A connection dropped mid-stream is resumed where it stopped (Last-Event-ID).
    /// </summary>
    public async IAsyncEnumerable<JobEvent> WatchJobAsync(string project, string jobId, [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? lastEventId = null;
        var failures = 0;
        while (true)
        {
            using var request = NewRequest(HttpMethod.Get, JobPath(project, jobId) + "/events", null);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId);
            }
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw await GureumApiException.FromResponseAsync(response, ct);
            }
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            var events = SseParser.Create(stream, ParseEvent).EnumerateAsync(ct).GetAsyncEnumerator(ct);
            try
            {
                while (true)
                {
                    SseItem<JobEvent> item;
                    try
                    {
                        if (!await events.MoveNextAsync())
                        {
                            break;
                        }
                        item = events.Current;
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested && failures < 5)
                    {
                        break; // dropped connection: reconnect below
                    }
                    failures = 0;
                    lastEventId = item.EventId ?? lastEventId;
                    var jobEvent = item.Data with { Id = item.EventId };
                    yield return jobEvent;
                    if (jobEvent.IsTerminal)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await events.DisposeAsync();
            }

            // The stream ended without a terminal status: the connection dropped, or the job was deleted.
            if (++failures > 5)
            {
                throw new IOException($"The event stream of job '{jobId}' kept closing before the job ended.");
            }
            var job = await GetJobAsync(project, jobId, ct);
            if (job.IsTerminal && lastEventId is null)
            {
                yield break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200 * failures), ct);
        }
    }

    // ---- health ----

    /// <summary>Readiness; answers the report for 200 (ready) and 503 (not ready) alike.</summary>
    public async Task<HealthReport> GetReadyAsync(CancellationToken ct = default)
    {
        using var request = NewRequest(HttpMethod.Get, "health/ready", null);
        using var response = await _http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode || (int)response.StatusCode == 503)
        {
            try
            {
                if (await response.Content.ReadFromJsonAsync<HealthReport>(JsonOptions, ct) is { } report)
                {
                    return report;
                }
            }
            catch (JsonException) when (!response.IsSuccessStatusCode)
            {
            }
        }
        throw await GureumApiException.FromResponseAsync(response, ct);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    // ---- plumbing ----

    private static JobEvent ParseEvent(string eventType, ReadOnlySpan<byte> data)
    {
        var json = JsonDocument.Parse(data.ToArray()).RootElement.Clone();
        string? Text(string name) => json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        double? percent = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("percent", out var p) && p.TryGetDouble(out var d) ? d : null;
        JobStatus? status = Text("status") is { } s && Enum.TryParse<JobStatus>(s, ignoreCase: true, out var parsed) ? parsed : null;
        return new JobEvent(eventType, null, status, percent, Text("message"), Text("error"), json);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = NewRequest(method, path, body);
        using var response = await _http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
        return await response.Content.ReadFromJsonAsync<T>(JsonOptions, ct)
            ?? throw new JsonException($"The server answered {method} {path} with an empty body.");
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = NewRequest(method, path, body);
        using var response = await _http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
    }

    private HttpRequestMessage NewRequest(HttpMethod method, string path, object? body)
    {
        // Relative paths keep a base address with a path prefix (https://host/gureum/) working.
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: JsonOptions);
        }
        return request;
    }

    private static string ProjectPath(string project, string? rest = null) =>
        "v1/projects/" + Uri.EscapeDataString(project) + (rest is null ? "" : "/" + rest);

    private static string JobPath(string project, string jobId) => ProjectPath(project, "jobs/" + Uri.EscapeDataString(jobId));

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => p.Value is not null).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }

    private static Uri WithTrailingSlash(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
    }
}
