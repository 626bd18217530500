using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gureum.Client;

/// <summary>
/// Typed client for the Gureum HTTP API. Every method throws <see cref="GureumApiException"/> for a non-2xx answer and
/// lets <see cref="HttpRequestException"/> through when the server cannot be reached.
/// </summary>
public sealed partial class GureumClient : IDisposable
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

    /// <summary>
    /// Talks to the server at <paramref name="baseUrl"/> (e.g. http://127.0.0.1:8080) with its own HttpClient. That client has no
    /// overall timeout, so uploads of large files are not cut off; every other request is limited by <see cref="RequestTimeout"/>.
    /// </summary>
    public GureumClient(Uri baseUrl, string? apiKey)
        : this(new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            BaseAddress = WithTrailingSlash(baseUrl),
            Timeout = Timeout.InfiniteTimeSpan,
        }, apiKey)
    {
        _ownsHttp = true;
    }

    /// <summary>
    /// How long a request other than an upload or download may take until its answer is read (for an event stream: until
    /// its headers arrive). Applies on top of the HttpClient's own <see cref="HttpClient.Timeout"/>, which stays in force for
    /// an HttpClient given to the constructor.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

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
            using var response = await SendTimedAsync(request, HttpCompletionOption.ResponseHeadersRead, RequestTimeout, ct);
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

    // ---- datasets ----

    public Task<Dataset> CreateDatasetAsync(string project, string name, string? description = null, CancellationToken ct = default) =>
        SendAsync<Dataset>(HttpMethod.Post, ProjectPath(project, "datasets"), new { name, description }, ct);

    public Task<Page<Dataset>> ListDatasetsAsync(string project, int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<Dataset>>(HttpMethod.Get,
            ProjectPath(project, "datasets") + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("after", after)), null, ct);

    /// <param name="dataset">The dataset's id or name.</param>
    public Task<Dataset> GetDatasetAsync(string project, string dataset, CancellationToken ct = default) =>
        SendAsync<Dataset>(HttpMethod.Get, DatasetPath(project, dataset), null, ct);

    /// <summary>Deletes the dataset with all its versions.</summary>
    public Task DeleteDatasetAsync(string project, string dataset, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, DatasetPath(project, dataset), null, ct);

    /// <summary>
    /// Uploads a local file as the dataset's next version, streamed from disk (never read into memory whole). The content
    /// type follows the file's extension (<see cref="ContentTypeFor"/>).
    /// </summary>
    /// <param name="progress">Told the bytes sent so far as the upload goes; the last report is the file's size.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GureumApiException">422 (type <c>urn:gureum:problem:unreadable-data</c>) when the file cannot be read as data; its errors name the line and column.</exception>
    public async Task<DatasetVersion> UploadDatasetFileAsync(
        string project, string dataset, string path, DatasetUploadOptions? options = null, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await UploadDatasetVersionAsync(project, dataset, file, ContentTypeFor(path), options, progress, ct);
    }

    /// <summary>
    /// Uploads <paramref name="content"/> (read from its current position, sent in chunks, disposed at the end) as the dataset's
    /// next version. No time limit applies besides <paramref name="ct"/>: large files take as long as they take.
    /// </summary>
    /// <param name="contentType">text/csv, text/tab-separated-values, application/x-ndjson, application/vnd.apache.parquet,
    /// application/gzip, or application/octet-stream to let the server detect the format.</param>
    /// <param name="progress">Told the bytes sent so far as the upload goes.</param>
    public Task<DatasetVersion> UploadDatasetVersionAsync(
        string project, string dataset, Stream content, string contentType, DatasetUploadOptions? options = null, IProgress<long>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        var request = NewRequest(HttpMethod.Post, DatasetPath(project, dataset, "versions") + Query(
            ("format", options?.Format),
            ("delimiter", options?.Delimiter),
            ("header", options?.Header is { } header ? (header ? "true" : "false") : null),
            ("encoding", options?.Encoding),
            ("onError", options?.OnError),
            ("target", options?.Target)), null);
        request.Content = new ProgressStreamContent(content, progress);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return SendAsync<DatasetVersion>(request, Timeout.InfiniteTimeSpan, ct);
    }

    /// <summary>The content type an upload of <paramref name="path"/> is sent with, from its extension.</summary>
    public static string ContentTypeFor(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => "text/csv",
        ".tsv" => "text/tab-separated-values",
        ".jsonl" or ".ndjson" => "application/x-ndjson",
        ".parquet" => "application/vnd.apache.parquet",
        ".gz" => "application/gzip",
        _ => "application/octet-stream",
    };

    /// <summary>Seals the rows appended since the latest version (with that version's rows) into a new version.</summary>
    public Task<DatasetVersion> CreateVersionFromAppendsAsync(string project, string dataset, CancellationToken ct = default) =>
        SendAsync<DatasetVersion>(NewRequest(HttpMethod.Post, DatasetPath(project, dataset, "versions"), new { fromAppends = true }), Timeout.InfiniteTimeSpan, ct);

    /// <summary>A new version that re-reads version <paramref name="fromVersion"/>'s bytes with <paramref name="columns"/> applied.</summary>
    /// <param name="columns">Per column name: a forced type, or ignored.</param>
    /// <param name="target">A target column, for the leakage warning.</param>
    public Task<DatasetVersion> DeriveVersionAsync(
        string project, string dataset, int fromVersion, IReadOnlyDictionary<string, ColumnOverride>? columns = null, string? target = null,
        CancellationToken ct = default) =>
        SendAsync<DatasetVersion>(NewRequest(HttpMethod.Post, DatasetPath(project, dataset, "versions"), new { fromVersion, columns, target }),
            Timeout.InfiniteTimeSpan, ct);

    /// <summary>Newest first.</summary>
    public Task<IReadOnlyList<DatasetVersion>> ListDatasetVersionsAsync(string project, string dataset, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<DatasetVersion>>(HttpMethod.Get, DatasetPath(project, dataset, "versions"), null, ct);

    public Task<DatasetVersion> GetDatasetVersionAsync(string project, string dataset, int number, CancellationToken ct = default) =>
        SendAsync<DatasetVersion>(HttpMethod.Get, VersionPath(project, dataset, number), null, ct);

    public Task<DatasetProfile> GetDatasetProfileAsync(string project, string dataset, int number, CancellationToken ct = default) =>
        SendAsync<DatasetProfile>(HttpMethod.Get, VersionPath(project, dataset, number, "profile"), null, ct);

    /// <param name="rows">1-1000; the server's default (50) when null.</param>
    public Task<DatasetPreview> PreviewDatasetVersionAsync(string project, string dataset, int number, int? rows = null, CancellationToken ct = default) =>
        SendAsync<DatasetPreview>(HttpMethod.Get,
            VersionPath(project, dataset, number, "preview") + Query(("rows", rows?.ToString(CultureInfo.InvariantCulture))), null, ct);

    /// <summary>Copies the version's bytes into <paramref name="destination"/> as they arrive: the original file, or CSV with <paramref name="format"/> csv.</summary>
    public async Task DownloadDatasetVersionAsync(
        string project, string dataset, int number, Stream destination, string? format = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await DownloadAsync(VersionPath(project, dataset, number, "download") + Query(("format", format)), destination, ct);
    }

    public Task DeleteDatasetVersionAsync(string project, string dataset, int number, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, VersionPath(project, dataset, number), null, ct);

    /// <summary>Appends records (checked against the latest version's schema); <see cref="CreateVersionFromAppendsAsync"/> seals them.</summary>
    public Task<AppendResult> AppendDatasetRowsAsync(string project, string dataset, IReadOnlyList<JsonElement> rows, CancellationToken ct = default) =>
        SendAsync<AppendResult>(HttpMethod.Post, DatasetPath(project, dataset, "rows"), rows, ct);

    // ---- health ----

    /// <summary>Readiness; answers the report for 200 (ready) and 503 (not ready) alike.</summary>
    // ---- training ----

    public Task<TrainingJob> SubmitTrainingAsync(string project, TrainingSubmission request, CancellationToken ct = default) =>
        SendAsync<TrainingJob>(HttpMethod.Post, ProjectPath(project, "training-jobs"), request, ct);

    public Task<Page<TrainingJob>> ListTrainingJobsAsync(string project, int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<TrainingJob>>(HttpMethod.Get, ProjectPath(project, "training-jobs")
            + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("before", after)), null, ct);

    public Task<TrainingJob> GetTrainingJobAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync<TrainingJob>(HttpMethod.Get, TrainingPath(project, id), null, ct);

    /// <param name="orderBy">score (best first, the default) or number (in the order they ran).</param>
    public Task<Leaderboard> GetLeaderboardAsync(string project, string id, string? orderBy = null, CancellationToken ct = default) =>
        SendAsync<Leaderboard>(HttpMethod.Get, TrainingPath(project, id, "trials") + Query(("orderBy", orderBy)), null, ct);

    public Task<TrainingJob> CancelTrainingAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync<TrainingJob>(HttpMethod.Post, TrainingPath(project, id, "cancel"), null, ct);

    /// <summary>Copies the trained model file (a zip) into <paramref name="destination"/>.</summary>
    public async Task DownloadModelAsync(string project, string id, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await DownloadAsync(TrainingPath(project, id, "model"), destination, ct);
    }

    /// <summary>Streams a GET answer's body into <paramref name="destination"/> as it arrives.</summary>
    private async Task DownloadAsync(string path, Stream destination, CancellationToken ct)
    {
        using var request = NewRequest(HttpMethod.Get, path, null);
        using var response = await SendTimedAsync(request, HttpCompletionOption.ResponseHeadersRead, RequestTimeout, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await body.CopyToAsync(destination, ct);
    }

    private static string TrainingPath(string project, string id, string? tail = null) =>
        $"v1/projects/{Uri.EscapeDataString(project)}/training-jobs/{Uri.EscapeDataString(id)}" + (tail is null ? "" : "/" + tail);

    // ---- tracking ----

    /// <summary>The active experiments; <paramref name="filter"/> as MLflow's, e.g. <c>name LIKE 'iris%'</c>.</summary>
    public Task<IReadOnlyList<Experiment>> ListExperimentsAsync(string project, string? filter = null, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<Experiment>>(HttpMethod.Get, ProjectPath(project, "experiments") + Query(("filter", filter)), null, ct);

    /// <param name="tags">Experiment tags; <see cref="Experiment.DescriptionTag"/> holds the description, as in MLflow.</param>
    /// <param name="idempotencyKey">Sent as <c>Idempotency-Key</c>: a retry with the same key gets the first answer instead of a 409.</param>
    public Task<Experiment> CreateExperimentAsync(
        string project, string name, IReadOnlyDictionary<string, string>? tags = null, string? idempotencyKey = null, CancellationToken ct = default) =>
        SendAsync<Experiment>(WithIdempotencyKey(NewRequest(HttpMethod.Post, ProjectPath(project, "experiments"), new { name, tags }), idempotencyKey),
            RequestTimeout, ct);

    /// <param name="id">The experiment's number (<see cref="Experiment.Id"/>).</param>
    public Task<Experiment> GetExperimentAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync<Experiment>(HttpMethod.Get, ProjectPath(project, "experiments/" + Uri.EscapeDataString(id)), null, ct);

    /// <summary>Runs of the given experiments (all active ones when none is given), filtered and ordered as MLflow's search.</summary>
    /// <param name="filter">e.g. <c>metrics.acc &gt; 0.8 and params.lr = '0.1'</c>.</param>
    /// <param name="orderBy">e.g. <c>metrics.acc DESC</c>; by default the newest run first.</param>
    public Task<Page<Run>> SearchRunsAsync(
        string project, IReadOnlyList<string>? experiments = null, string? filter = null, IReadOnlyList<string>? orderBy = null,
        int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<Run>>(HttpMethod.Get, ProjectPath(project, "runs") + Query(
            ("experiment", experiments is { Count: > 0 } ? string.Join(',', experiments) : null),
            ("filter", filter),
            ("orderBy", orderBy is { Count: > 0 } ? string.Join(',', orderBy) : null),
            ("limit", limit?.ToString(CultureInfo.InvariantCulture)),
            ("pageToken", after)), null, ct);

    /// <summary>A run with its params, tags and the latest value of each metric.</summary>
    public Task<Run> GetRunAsync(string project, string run, CancellationToken ct = default) =>
        SendAsync<Run>(HttpMethod.Get, RunPath(project, run), null, ct);

    /// <summary>One metric's points by step; pass <see cref="MetricHistory.Next"/> as <paramref name="after"/> for more.</summary>
    /// <param name="limit">1-25000; the server's default (10000) when null.</param>
    public Task<MetricHistory> GetMetricHistoryAsync(
        string project, string run, string key, int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<MetricHistory>(HttpMethod.Get, RunPath(project, run, "metrics/" + Uri.EscapeDataString(key))
            + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("pageToken", after)), null, ct);

    /// <summary>2 to 20 runs side by side: every param (flagged where they differ) and each metric's series per run.</summary>
    /// <param name="metrics">The metric series to include; null: every metric of the runs (up to 50).</param>
    public Task<RunComparison> CompareRunsAsync(
        string project, IReadOnlyList<string> runs, IReadOnlyList<string>? metrics = null, CancellationToken ct = default) =>
        SendAsync<RunComparison>(HttpMethod.Post, ProjectPath(project, "runs/compare"), new { runIds = runs, metrics }, ct);

    /// <summary>The files and directories directly inside <paramref name="path"/> (null: the run's artifact root).</summary>
    public Task<IReadOnlyList<ArtifactEntry>> ListRunArtifactsAsync(string project, string run, string? path = null, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<ArtifactEntry>>(HttpMethod.Get, RunPath(project, run, "artifacts") + Query(("path", path)), null, ct);

    /// <summary>Copies one artifact file into <paramref name="destination"/> as it arrives.</summary>
    /// <param name="path">The file's path under the run's artifact root, e.g. <c>model/model.zip</c>.</param>
    public async Task DownloadRunArtifactAsync(string project, string run, string path, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await DownloadAsync(RunPath(project, run, "artifacts/" + EscapePath(path)), destination, ct);
    }

    // ---- registry ----

    /// <param name="idempotencyKey">Sent as <c>Idempotency-Key</c>: a retry with the same key gets the first answer instead of a 409.</param>
    public Task<RegisteredModel> CreateModelAsync(
        string project, string name, string? description = null, IReadOnlyDictionary<string, string>? tags = null, string? idempotencyKey = null,
        CancellationToken ct = default) =>
        SendAsync<RegisteredModel>(WithIdempotencyKey(NewRequest(HttpMethod.Post, ProjectPath(project, "models"), new { name, description, tags }), idempotencyKey),
            RequestTimeout, ct);

    public Task<Page<RegisteredModel>> ListModelsAsync(string project, int? limit = null, string? after = null, CancellationToken ct = default) =>
        SendAsync<Page<RegisteredModel>>(HttpMethod.Get,
            ProjectPath(project, "models") + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("pageToken", after)), null, ct);

    /// <summary>A registered model with its current aliases and latest version number.</summary>
    public Task<RegisteredModel> GetModelAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync<RegisteredModel>(HttpMethod.Get, ModelPath(project, name), null, ct);

    /// <summary>Deletes the model with all its versions and aliases.</summary>
    public Task DeleteModelAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, ModelPath(project, name), null, ct);

    /// <summary>Newest first.</summary>
    public Task<IReadOnlyList<ModelVersion>> ListModelVersionsAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<ModelVersion>>(HttpMethod.Get, ModelPath(project, name, "versions"), null, ct);

    /// <param name="version">A version number, or an alias such as <c>champion</c>.</param>
    public Task<ModelVersion> GetModelVersionAsync(string project, string name, string version, CancellationToken ct = default) =>
        SendAsync<ModelVersion>(HttpMethod.Get, ModelVersionPath(project, name, version), null, ct);

    /// <summary>Deletes one version; the aliases pointing at it go too (409 when something downstream depends on it).</summary>
    public Task DeleteModelVersionAsync(string project, string name, string version, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, ModelVersionPath(project, name, version), null, ct);

    /// <summary>
    /// Uploads a model file (ONNX, or an ML.NET zip) as the model's next version: multipart, the file streamed from disk in
    /// chunks (never read into memory whole), with no time limit besides <paramref name="ct"/>. The server validates the file
    /// before the version exists; a refused file is a 415 or 422 naming what is wrong.
    /// </summary>
    /// <param name="idempotencyKey">Sent as <c>Idempotency-Key</c>: sending the same file again with the same key is answered
    /// with the first version instead of adding another one (the multipart boundary does not count).</param>
    /// <param name="progress">Told the bytes of the file sent so far as the upload goes; the last report is the file's size.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public Task<ModelVersion> UploadModelVersionAsync(
        string project, string name, string path, ModelVersionUpload? metadata = null, string? idempotencyKey = null, IProgress<long>? progress = null,
        CancellationToken ct = default)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var filePart = new ProgressStreamContent(file, progress);
        filePart.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var form = new MultipartFormDataContent { { filePart, "file", Path.GetFileName(path) } };
        if (metadata is not null)
        {
            // Serialized up front so the form has a length (no chunked upload) and a retry sends the same bytes.
            form.Add(new StringContent(JsonSerializer.Serialize(metadata, JsonOptions), Encoding.UTF8, "application/json"), "metadata");
        }
        var request = NewRequest(HttpMethod.Post, ModelPath(project, name, "versions"), null);
        request.Content = form;
        return SendAsync<ModelVersion>(WithIdempotencyKey(request, idempotencyKey), Timeout.InfiniteTimeSpan, ct);
    }

    /// <summary>
    /// Makes a model file the server already holds the model's next version: a training job's model (<paramref name="trainingJob"/>),
    /// or a run artifact (<paramref name="source"/>, e.g. <c>runs:/&lt;run&gt;/model/model.zip</c>). Name exactly one. The version
    /// keeps its run, training job and dataset as lineage, and the job's test metrics.
    /// </summary>
    public Task<ModelVersion> RegisterModelVersionAsync(
        string project, string name, string? trainingJob = null, string? source = null, string? description = null,
        IReadOnlyDictionary<string, string>? tags = null, string? idempotencyKey = null, CancellationToken ct = default) =>
        SendAsync<ModelVersion>(WithIdempotencyKey(NewRequest(HttpMethod.Post, ModelPath(project, name, "versions"),
            new { trainingJob, source, description, tags }), idempotencyKey), Timeout.InfiniteTimeSpan, ct);

    /// <summary>Copies the version's model file into <paramref name="destination"/> as it arrives.</summary>
    /// <param name="version">A version number, or an alias.</param>
    public async Task DownloadModelVersionAsync(string project, string name, string version, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await DownloadAsync(ModelVersionPath(project, name, version, "download"), destination, ct);
    }

    /// <summary>The current aliases and every move of them, newest first.</summary>
    public Task<ModelAliases> GetModelAliasesAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync<ModelAliases>(HttpMethod.Get, ModelPath(project, name, "aliases"), null, ct);

    /// <summary>Points <paramref name="alias"/> at <paramref name="version"/>, moving it atomically if it pointed elsewhere.</summary>
    public Task<ModelAlias> SetModelAliasAsync(string project, string name, string alias, int version, CancellationToken ct = default) =>
        SendAsync<ModelAlias>(HttpMethod.Put, ModelPath(project, name, "aliases/" + Uri.EscapeDataString(alias)), new { version }, ct);

    public Task DeleteModelAliasAsync(string project, string name, string alias, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, ModelPath(project, name, "aliases/" + Uri.EscapeDataString(alias)), null, ct);

    /// <summary>Where the version came from: dataset version → training job → run → this version.</summary>
    /// <param name="version">A version number, or an alias.</param>
    public Task<ModelLineage> GetModelLineageAsync(string project, string name, string version, CancellationToken ct = default) =>
        SendAsync<ModelLineage>(HttpMethod.Get, ModelVersionPath(project, name, version, "lineage"), null, ct);

    private static string RunPath(string project, string run, string? rest = null) =>
        ProjectPath(project, "runs/" + Uri.EscapeDataString(run) + (rest is null ? "" : "/" + rest));

    private static string ModelPath(string project, string name, string? rest = null) =>
        ProjectPath(project, "models/" + Uri.EscapeDataString(name) + (rest is null ? "" : "/" + rest));

    private static string ModelVersionPath(string project, string name, string version, string? rest = null) =>
        ModelPath(project, name, "versions/" + Uri.EscapeDataString(version) + (rest is null ? "" : "/" + rest));

    /// <summary>Escapes each segment of a relative path and keeps its slashes.</summary>
    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private static HttpRequestMessage WithIdempotencyKey(HttpRequestMessage request, string? key)
    {
        if (!string.IsNullOrWhiteSpace(key))
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        return request;
    }

    // ---- serving ----

    /// <summary>
    /// Creates an endpoint serving <paramref name="spec"/>'s deployments (202: it loads in the background, status
    /// <c>loading</c>; poll <see cref="GetEndpointAsync"/> until ready or failed). 409 when the name is taken: change it with
    /// <see cref="UpdateEndpointAsync"/>.
    /// </summary>
    /// <param name="idempotencyKey">Sent as <c>Idempotency-Key</c>: a repeat with the same key is answered as the first was.</param>
    public Task<ServingEndpoint> CreateEndpointAsync(string project, string name, EndpointSpec spec, string? idempotencyKey = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var body = new
        {
            name, spec.Deployments, spec.Batching, spec.Runtime, spec.TimeoutMs, spec.MaxRowsPerRequest, spec.MaxBodyBytes, spec.SampleRate,
        };
        return SendAsync<ServingEndpoint>(WithIdempotencyKey(NewRequest(HttpMethod.Post, ProjectPath(project, "endpoints"), body), idempotencyKey), RequestTimeout, ct);
    }

    public Task<ServingEndpointList> ListEndpointsAsync(string project, CancellationToken ct = default) =>
        SendAsync<ServingEndpointList>(HttpMethod.Get, ProjectPath(project, "endpoints"), null, ct);

    public Task<ServingEndpoint> GetEndpointAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync<ServingEndpoint>(HttpMethod.Get, EndpointPath(project, name), null, ct);

    /// <summary>
    /// Replaces the endpoint's whole spec with no downtime (202): the new versions load and warm up beside the ones serving,
    /// then traffic moves; <see cref="ServingEndpoint.Update"/> says how the change goes.
    /// </summary>
    public Task<ServingEndpoint> UpdateEndpointAsync(string project, string name, EndpointSpec spec, CancellationToken ct = default) =>
        SendAsync<ServingEndpoint>(HttpMethod.Put, EndpointPath(project, name), spec, ct);

    /// <summary>Deletes the endpoint and unloads its models.</summary>
    public Task DeleteEndpointAsync(string project, string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, EndpointPath(project, name), null, ct);

    /// <summary>
    /// Asks the endpoint for predictions and returns its answer as sent. <paramref name="body"/> is
    /// <c>{"inputs": {name: nested array}}</c> for ONNX models (answer: <c>model, version, requestId, outputs</c>) or
    /// <c>{"records": [{column: value}]}</c> for AutoML models (answer: <c>model, version, requestId, contributionsSupported,
    /// predictions</c>). A refused input is a 400 whose errors name the field (e.g. <c>inputs.x</c>).
    /// </summary>
    /// <param name="explain">Adds per-column contributions to AutoML predictions where the model supports them.</param>
    public Task<JsonElement> PredictAsync(string project, string name, JsonElement body, bool explain = false, CancellationToken ct = default) =>
        SendAsync<JsonElement>(HttpMethod.Post, EndpointPath(project, name, "predict") + Query(("explain", explain ? "true" : null)), body, ct);

    /// <summary>The latest sampled predictions, newest first, shadow answers included.</summary>
    /// <param name="limit">1-200; the server's default (50) when null.</param>
    public Task<IReadOnlyList<PredictionSample>> ListPredictionSamplesAsync(string project, string name, int? limit = null, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<PredictionSample>>(HttpMethod.Get,
            EndpointPath(project, name, "samples") + Query(("limit", limit?.ToString(CultureInfo.InvariantCulture))), null, ct);

    private static string EndpointPath(string project, string name, string? rest = null) =>
        ProjectPath(project, "endpoints/" + Uri.EscapeDataString(name) + (rest is null ? "" : "/" + rest));

    public async Task<HealthReport> GetReadyAsync(CancellationToken ct = default)
    {
        using var request = NewRequest(HttpMethod.Get, "health/ready", null);
        using var response = await SendTimedAsync(request, HttpCompletionOption.ResponseContentRead, RequestTimeout, ct);
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

    private Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct) =>
        SendAsync<T>(NewRequest(method, path, body), RequestTimeout, ct);

    /// <summary>Sends <paramref name="request"/> (and disposes it), reads the JSON answer.</summary>
    private async Task<T> SendAsync<T>(HttpRequestMessage request, TimeSpan timeout, CancellationToken ct)
    {
        using var _ = request;
        using var response = await SendTimedAsync(request, HttpCompletionOption.ResponseContentRead, timeout, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
        return await response.Content.ReadFromJsonAsync<T>(JsonOptions, ct)
            ?? throw new JsonException($"The server answered {request.Method} {request.RequestUri} with an empty body.");
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = NewRequest(method, path, body);
        using var response = await SendTimedAsync(request, HttpCompletionOption.ResponseContentRead, RequestTimeout, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
    }

    /// <summary>
    /// Sends with a time limit (none for <see cref="Timeout.InfiniteTimeSpan"/>). Running out of time throws
    /// <see cref="TaskCanceledException"/> with a <see cref="TimeoutException"/> inside, as HttpClient's own timeout does.
    /// </summary>
    private async Task<HttpResponseMessage> SendTimedAsync(HttpRequestMessage request, HttpCompletionOption completion, TimeSpan timeout, CancellationToken ct)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return await _http.SendAsync(request, completion, ct);
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            return await _http.SendAsync(request, completion, limit.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested && limit.IsCancellationRequested)
        {
            throw new TaskCanceledException(
                string.Create(CultureInfo.InvariantCulture, $"The request was canceled due to the configured timeout of {timeout.TotalSeconds:0.#} seconds elapsing."),
                new TimeoutException(e.Message, e));
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

    private static string DatasetPath(string project, string dataset, string? rest = null) =>
        ProjectPath(project, "datasets/" + Uri.EscapeDataString(dataset) + (rest is null ? "" : "/" + rest));

    private static string VersionPath(string project, string dataset, int number, string? rest = null) =>
        DatasetPath(project, dataset, "versions/" + number.ToString(CultureInfo.InvariantCulture) + (rest is null ? "" : "/" + rest));

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
