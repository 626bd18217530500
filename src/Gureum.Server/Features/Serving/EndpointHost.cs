using System.Collections.Concurrent;
using System.Diagnostics;
using Gureum.ML.Serving;
using Gureum.ML.Training;
using Gureum.Server.Features.Registry;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Serving;

/// <summary>Serving settings (<c>Gureum:Serving</c>).</summary>
public sealed class ServingOptions
{
    /// <summary>How often a node compares its loaded endpoints with the database (other nodes' changes, alias moves).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How often request counts and latencies are written to <c>endpoint_usage</c>.</summary>
    public TimeSpan UsageFlushInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>One deployment as loaded: the version that answers, its share of traffic, whether it only shadows.</summary>
public sealed record Route(ServedVersion Version, double Weight, string? Alias, bool Shadow);

/// <summary>An immutable routing table; a change builds a new one and swaps it in whole.</summary>
public sealed class Routes
{
    private readonly double[] _cumulative;

    public Routes(EndpointSpec spec, IReadOnlyList<Route> all)
    {
        Spec = spec;
        All = all;
        Live = [.. all.Where(r => !r.Shadow && r.Weight > 0)];
        Shadows = [.. all.Where(r => r.Shadow)];
        _cumulative = new double[Live.Length];
        double sum = 0;
        for (var i = 0; i < Live.Length; i++) _cumulative[i] = sum += Live[i].Weight;
    }

    public EndpointSpec Spec { get; }
    public IReadOnlyList<Route> All { get; }
    public Route[] Live { get; }
    public Route[] Shadows { get; }

    /// <summary>A live route drawn by weight.</summary>
    public Route Pick()
    {
        if (Live.Length == 1) return Live[0];
        var x = Random.Shared.NextDouble() * _cumulative[^1];
        for (var i = 0; i < _cumulative.Length; i++)
        {
            if (x < _cumulative[i]) return Live[i];
        }
        return Live[^1];
    }
}

/// <summary>An endpoint as this node holds it: what serves now and how the latest change went.</summary>
public sealed class LiveEndpoint
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string Name { get; init; }
    public volatile Routes? Routes;
    public volatile string Status = "loading";
    public volatile string? Reason;
    /// <summary>A change being loaded, or that failed while the previous versions kept serving.</summary>
    public volatile string? Update;
    /// <summary>With status <c>elsewhere</c>: the base URLs of the nodes its placement chose, where requests are forwarded.</summary>
    public volatile IReadOnlyList<string> Hosts = [];
    /// <summary>How many nodes its placement chose (they share its rate limits); 0 without a placement: every live node.</summary>
    public volatile int ServingNodes;
    public long DroppedSamples;
    /// <summary>When this node started tracking it: a refresh that read the database earlier must not remove it.</summary>
    internal long TrackedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    internal string? AttemptedKey;
    /// <summary>The newest generation applied or being applied: a refresh holding an older row must not go back.</summary>
    internal int Generation;
    internal readonly SemaphoreSlim Gate = new(1, 1);
    private int _inFlight;

    /// <summary>Counts a request in until disposed; past <paramref name="max"/> at once the request is refused with 429.</summary>
    public InFlight EnterRequest(int? max)
    {
        if (max is null) return default;
        if (Interlocked.Increment(ref _inFlight) > max)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new GureumException(ProblemCode.TooManyRequests,
                $"Endpoint '{Name}' is answering {max} requests at once, its maxConcurrency; retry after the Retry-After delay, or raise maxConcurrency with PUT.");
        }
        return new InFlight(this);
    }

    public readonly struct InFlight(LiveEndpoint? endpoint) : IDisposable
    {
        public void Dispose()
        {
            if (endpoint is not null) Interlocked.Decrement(ref endpoint._inFlight);
        }
    }
}

/// <summary>
/// Loads and swaps the endpoints this node serves. A change is loaded and warmed beside what serves now, then the
/// routing table is swapped in one write; versions no longer routed to are freed once their in-flight requests end.
/// Every node compares its state with the database every <see cref="ServingOptions.RefreshInterval"/>, which is how
/// changes made on another node, restarts and alias moves arrive.
/// </summary>
public sealed partial class EndpointHost(
    GureumDbFactory dbFactory, IArtifactStore artifacts, ServingOptions options, TimeProvider clock, ILogger<EndpointHost> logger,
    Nodes.NodeCapabilities node, IServiceProvider services) : BackgroundService
{
    private readonly ConcurrentDictionary<string, LiveEndpoint> _endpoints = new();
    // Endpoint ids removed here, with when: a refresh that read the table before the delete must not load them again.
    private readonly ConcurrentDictionary<string, long> _removed = new();
    // One load at a time: loads are CPU- and memory-heavy, and the memory a load adds can then be measured.
    private readonly SemaphoreSlim _loadGate = new(1, 1);

    private static string Key(string projectId, string name) => projectId + "/" + name;

    /// <summary>
    /// The endpoint as this node serves it, or null. One this node removed is not returned even while a refresh
    /// that read its row before the delete briefly tracks it again (it drops it under the gate).
    /// </summary>
    public LiveEndpoint? Find(string projectId, string name) =>
        _endpoints.GetValueOrDefault(Key(projectId, name)) is { } live && !_removed.ContainsKey(live.Id) ? live : null;

    public IEnumerable<LiveEndpoint> All => _endpoints.Values;

    /// <summary>True once the first pass over the database has loaded (or failed) every endpoint: until then the node is not ready for traffic.</summary>
    public bool Warmed { get; private set; }

    /// <summary>Starts loading a created or changed endpoint in the background (the caller answers at once).</summary>
    public void Schedule(InferenceEndpoint row)
    {
        var live = Track(row);
        if (live.Routes is not null) live.Update = "loading";
        _ = Task.Run(() => ApplyAsync(row, CancellationToken.None));
    }

    private LiveEndpoint Track(InferenceEndpoint row) =>
        _endpoints.GetOrAdd(Key(row.ProjectId, row.Name), _ => new LiveEndpoint { Id = row.Id, ProjectId = row.ProjectId, Name = row.Name });

    /// <summary>Stops serving an endpoint on this node and frees its models once in-flight requests end.</summary>
    public async Task RemoveAsync(string projectId, string name)
    {
        if (!_endpoints.TryRemove(Key(projectId, name), out var live)) return;
        _removed[live.Id] = Stopwatch.GetTimestamp();
        await live.Gate.WaitAsync();
        try
        {
            var routes = live.Routes;
            live.Routes = null;
            live.Status = "deleted";
            if (routes is not null) await RetireAsync(routes.All.Select(r => r.Version), routes.Spec);
        }
        finally
        {
            live.Gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.RefreshInterval, clock);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
                Warmed = true;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogRefreshFailed(logger, e);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Loads what the database has and this node lacks, follows alias moves, drops what was deleted.</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        List<InferenceEndpoint> rows;
        var readAt = Stopwatch.GetTimestamp();
        await using (var db = dbFactory.Create())
        {
            rows = await db.Set<InferenceEndpoint>().AsNoTracking().ToListAsync(ct);
        }
        foreach (var row in rows)
        {
            await ApplyAsync(row, ct);
        }
        var ids = rows.Select(r => r.Id).ToHashSet();
        foreach (var (id, at) in _removed)
        {
            // Read after the removal and gone from the table: no stale row can bring it back any more.
            if (at < readAt && !ids.Contains(id)) _removed.TryRemove(id, out _);
        }
        var present = rows.Select(r => Key(r.ProjectId, r.Name)).ToHashSet();
        foreach (var live in _endpoints.Values.Where(l => !present.Contains(Key(l.ProjectId, l.Name)) && l.TrackedAt < readAt).ToList())
        {
            await RemoveAsync(live.ProjectId, live.Name);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Answer what is queued and let running requests end; the sessions themselves are left to the process exit:
        // freeing ONNX Runtime sessions during host shutdown crashed the process (free(): invalid size inside
        // libonnxruntime), which freeing them on a swap or a delete never did in the same tests.
        await Task.WhenAll(_endpoints.Values.Select(l => l.Routes).OfType<Routes>()
            .SelectMany(r => r.All.Select(route => route.Version)).Distinct().Select(v => v.DrainAsync(TimeSpan.FromSeconds(5))));
    }

    /// <summary>
    /// Brings the endpoint to what <paramref name="row"/> says. A no-op when the same generation resolved to the same
    /// versions was already tried (a failed load is not retried until something changes).
    /// </summary>
    private async Task ApplyAsync(InferenceEndpoint row, CancellationToken ct)
    {
        if (_removed.ContainsKey(row.Id)) return;
        var live = Track(row);
        if (live.Id != row.Id)
        {
            // The name was deleted and created again on another node: start from scratch.
            await RemoveAsync(row.ProjectId, row.Name);
            live = Track(row);
        }
        await live.Gate.WaitAsync(ct);
        try
        {
            if (_removed.ContainsKey(row.Id))
            {
                // Deleted while this stale row waited: drop what Track just re-added.
                _endpoints.TryRemove(new KeyValuePair<string, LiveEndpoint>(Key(row.ProjectId, row.Name), live));
                return;
            }
            if (live.Status == "deleted" || row.Generation < live.Generation) return;
            live.Generation = row.Generation;
            var spec = EndpointSpec.FromJson(row.Spec);
            List<ResolvedDeployment> resolved;
            string attempt;
            try
            {
                await using (var db = dbFactory.Create())
                {
                    resolved = await Deployments.ResolveAsync(db, row.ProjectId, spec, ct);
                }
                attempt = row.Generation + ":" + string.Join(",", resolved.Select(r => r.Version.Id));
            }
            catch (DeploymentException e)
            {
                attempt = row.Generation + ":" + e.Message;
                if (attempt != live.AttemptedKey) Fail(live, e.Message);
                live.AttemptedKey = attempt;
                return;
            }
            var (hosts, serving) = Hosts(row, spec);
            live.ServingNodes = serving;
            if (hosts is not null)
            {
                // Placed on other nodes: hold nothing here, forward requests there.
                attempt = "elsewhere:" + string.Join(",", hosts) + "|" + attempt;
                if (attempt == live.AttemptedKey) return;
                live.AttemptedKey = attempt;
                live.Hosts = hosts;
                live.Status = "elsewhere";
                live.Reason = hosts.Count == 0 ? $"no live node meets its placement ({spec.Placement?.Requirements})" : null;
                if (live.Routes is { } held)
                {
                    live.Routes = null;
                    await RetireAsync(held.All.Select(r => r.Version), held.Spec);
                }
                return;
            }
            attempt = "here|" + attempt;
            if (attempt == live.AttemptedKey) return;
            live.AttemptedKey = attempt;
            if (live.Routes is not null) live.Update = "loading";
            await LoadAsync(live, spec, resolved, ct);
        }
        finally
        {
            live.Gate.Release();
        }
    }

    /// <summary>
    /// Null when this node hosts the endpoint (no placement, or one that chose it); else the URLs of the live nodes that
    /// do: those meeting the requirements, the first <c>replicas</c> of them ranked by a hash of endpoint and node name,
    /// so every node makes the same choice from the same node list. With how many nodes it chose (0: no placement).
    /// </summary>
    private (List<string>? Elsewhere, int Serving) Hosts(InferenceEndpoint row, EndpointSpec spec)
    {
        if (spec.Placement is not { } placement) return (null, 0);
        var registry = services.GetRequiredService<Nodes.NodeRegistry>();
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var alive = registry.Nodes.Where(n => now - n.HeartbeatAt <= Nodes.NodeRegistry.AliveWithin.TotalSeconds && n.Name != node.Name)
            .Select(n => (n.Name, n.Url, Metadata: n.Metadata())).Append((node.Name, Url: (string?)null, Metadata: node.ToSiloMetadata()));
        var chosen = alive.Where(n => Nodes.NodeCapabilities.Satisfies(n.Metadata, placement.Requirements))
            .OrderBy(n => Rank(row.Id, n.Name)).ThenBy(n => n.Name, StringComparer.Ordinal)
            .Take(placement.Replicas ?? int.MaxValue).ToList();
        return (chosen.Any(n => n.Name == node.Name) ? null : [.. chosen.Where(n => n.Url is not null).Select(n => n.Url!)], Math.Max(1, chosen.Count));
    }

    /// <summary>Concurrent requests' records predicted in one call, split back per request (explained ones only with each other).</summary>
    private static DynamicBatcher<RecordsRequest, IReadOnlyList<Prediction>> BatchRecords(TrainedModel model, BatchSettings settings) => new(
        settings,
        rows: r => r.Rows.Count,
        stacks: (a, b) => a.Explain == b.Explain,
        runMany: (batch, _) =>
        {
            var all = model.Predict([.. batch.SelectMany(r => r.Rows)], batch[0].Explain);
            var answers = new IReadOnlyList<Prediction>[batch.Count];
            var start = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                answers[i] = [.. Enumerable.Range(start, batch[i].Rows.Count).Select(j => all[j])];
                start += batch[i].Rows.Count;
            }
            return answers;
        },
        runOne: r => model.Predict(r.Rows, r.Explain));

    private static ulong Rank(string endpointId, string nodeName) =>
        BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(endpointId + "/" + nodeName)), 0);

    private async Task LoadAsync(LiveEndpoint live, EndpointSpec spec, List<ResolvedDeployment> resolved, CancellationToken ct)
    {
        var current = live.Routes;
        var reusable = current?.All.Select(r => r.Version).DistinctBy(v => v.LoadKey).ToDictionary(v => v.LoadKey) ?? [];
        var loaded = new List<ServedVersion>();
        var routes = new List<Route>();
        try
        {
            foreach (var r in resolved)
            {
                var key = LoadKeyOf(r.Version, spec);
                if (!reusable.TryGetValue(key, out var served) && (served = loaded.FirstOrDefault(l => l.LoadKey == key)) is null)
                {
                    served = await LoadVersionAsync(r, spec, key, ct);
                    loaded.Add(served);
                }
                routes.Add(new Route(served, r.Deployment.Shadow ? 0 : r.Deployment.Weight ?? 1, r.Deployment.Alias, r.Deployment.Shadow));
            }
        }
        catch (Exception e) when (e is ModelRunException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException
                                      or InvalidDataException or ArtifactMissingException or IOException or FormatException)
        {
            foreach (var l in loaded) await l.DisposeAsync();
            Fail(live, e.Message);
            return;
        }
        live.Routes = new Routes(spec, routes);
        live.Status = "ready";
        live.Reason = null;
        live.Update = null;
        LogServing(logger, live.Name, string.Join(", ", routes.Select(r => $"{r.Version.Model}:{r.Version.Version}{(r.Shadow ? " (shadow)" : $" ×{r.Weight}")}")));
        if (current is not null)
        {
            var kept = routes.Select(r => r.Version).ToHashSet();
            _ = RetireAsync(current.All.Select(r => r.Version).Where(v => !kept.Contains(v)), current.Spec);
        }
    }

    private static void Fail(LiveEndpoint live, string reason)
    {
        if (live.Routes is null)
        {
            live.Status = "failed";
            live.Reason = reason;
        }
        else
        {
            live.Update = "failed: " + reason + " The previous versions keep serving.";
        }
    }

    private static Task RetireAsync(IEnumerable<ServedVersion> versions, EndpointSpec spec) =>
        Task.WhenAll(versions.Distinct().Select(v => v.RetireAsync(TimeSpan.FromMilliseconds(spec.TimeoutMs) + TimeSpan.FromSeconds(5))));

    /// <summary>The same version loaded with the same runtime and batching settings can be reused across a change.</summary>
    private static string LoadKeyOf(ModelVersion v, EndpointSpec spec) =>
        v.Format == "onnx" ? $"{v.Id}|{spec.RuntimeSettings}|{spec.BatchSettings}|{spec.TimeoutMs}" : $"{v.Id}|{spec.BatchSettings}";

    private async Task<ServedVersion> LoadVersionAsync(ResolvedDeployment r, EndpointSpec spec, string key, CancellationToken ct)
    {
        var signature = RegistryStore.ReadSignature(r.Version);
        var bytes = new MemoryStream(checked((int)Math.Max(0, r.Version.SizeBytes)));
        await using (var blob = artifacts.OpenRead(r.Version.Sha256))
        {
            await blob.CopyToAsync(bytes, ct);
        }
        await _loadGate.WaitAsync(ct);
        try
        {
            var before = MemoryInUse();
            var timeout = TimeSpan.FromMilliseconds(spec.TimeoutMs);
            OnnxRunner? onnx = null;
            DynamicBatcher<Tensor[], Tensor[]>? batcher = null;
            DynamicBatcher<RecordsRequest, IReadOnlyList<Prediction>>? records = null;
            TrainedModel? automl = null;
            if (r.Version.Format == "onnx")
            {
                onnx = new OnnxRunner(bytes.ToArray(), spec.RuntimeSettings);
                try
                {
                    // The warm-up pays one-time costs (allocations, kernel choice): it gets more time than a request.
                    onnx.WarmUp(timeout + TimeSpan.FromSeconds(60));
                }
                catch
                {
                    onnx.Dispose();
                    throw;
                }
                if (spec.BatchingOrDefault.MaxBatchSize > 1 && onnx.Batchable)
                {
                    var runner = onnx;
                    batcher = DynamicBatcher.ForTensors(inputs => runner.Run(inputs, timeout), spec.BatchSettings);
                }
            }
            else
            {
                // Deployments.ResolveAsync let through only ONNX files and Gureum AutoML models.
                bytes.Position = 0;
                automl = TrainedModel.Load(bytes);
                automl.Predict([new Dictionary<string, object?>()]);
                // Always through the record queue: with batching off each request is its own run, still on the queue's
                // worker threads, so a burst waits without holding request threads (ML.NET runs block the thread they are on).
                records = BatchRecords(automl, spec.BatchSettings);
            }
            var memory = Math.Max(MemoryInUse() - before, r.Version.SizeBytes);
            return new ServedVersion
            {
                Model = r.Model.Name, Version = r.Version.Version, Format = r.Version.Format,
                LoadKey = key, Onnx = onnx, Batcher = batcher, AutoMl = automl, RecordBatcher = records, Batched = batcher is not null || (records is not null && spec.BatchingOrDefault.MaxBatchSize > 1), Signature = signature, MemoryBytes = memory, LoadedAt = clock.GetUtcNow(),
            };
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>Native and managed memory this process holds privately (ONNX Runtime allocates outside the GC heap).</summary>
    private static long MemoryInUse()
    {
        using var self = Process.GetCurrentProcess();
        return self.PrivateMemorySize64;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the served endpoints failed; retrying at the next interval")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Endpoint {Endpoint} serves {Versions}")]
    private static partial void LogServing(ILogger logger, string endpoint, string versions);
}

/// <summary>Not ready until the endpoints in the database are loaded here, so a balancer sends no prediction to a node that would answer 503.</summary>
internal sealed class EndpointsHealthCheck(EndpointHost host) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken ct = default) =>
        Task.FromResult(host.Warmed
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy($"{host.All.Count()} endpoint(s) loaded")
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("loading the endpoints' models"));
}
