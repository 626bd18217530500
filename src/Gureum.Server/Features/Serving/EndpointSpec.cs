using System.Text.Json;
using Gureum.ML.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Serving;

/// <summary>
/// One model behind an endpoint: a fixed <see cref="Version"/>, or an <see cref="Alias"/> the endpoint follows when it
/// moves. <see cref="Weight"/> is a relative share of traffic; a <see cref="Shadow"/> gets a copy of every request and
/// its answers are logged, never returned.
/// </summary>
public sealed record DeploymentSpec(string Model, int? Version = null, string? Alias = null, double? Weight = null, bool Shadow = false);

/// <summary>Dynamic batching (ONNX tensors and AutoML records): rows per run, how long a request waits for company, the queue bound. maxBatchSize 1 turns it off.</summary>
public sealed record BatchingSpec(int MaxBatchSize = 32, double MaxDelayMs = 1, int MaxQueue = 1024, int? Workers = null);

/// <summary>ONNX Runtime session settings.</summary>
public sealed record RuntimeSpec(int IntraOpThreads = 1, int InterOpThreads = 1, string GraphOptimization = "all", string Device = "cpu");

/// <summary>
/// Where an endpoint's models load in a cluster: only on nodes that meet <see cref="Requirements"/> (labels such as
/// <c>zone=edge</c>, a GPU, memory), and on <see cref="Replicas"/> of them (all when left out). Other nodes forward its
/// requests to one that hosts it.
/// </summary>
public sealed record PlacementSpec(int? Replicas = null, Nodes.NodeRequirements? Requirements = null);

/// <summary>What an endpoint serves and how; everything but <see cref="Deployments"/> has a default.</summary>
public sealed record EndpointSpec(
    IReadOnlyList<DeploymentSpec> Deployments,
    BatchingSpec? Batching = null,
    RuntimeSpec? Runtime = null,
    int TimeoutMs = EndpointSpec.DefaultTimeoutMs,
    int MaxRowsPerRequest = EndpointSpec.DefaultMaxRowsPerRequest,
    long MaxBodyBytes = EndpointSpec.DefaultMaxBodyBytes,
    double SampleRate = EndpointSpec.DefaultSampleRate,
    int? MaxConcurrency = null,
    PlacementSpec? Placement = null)
{
    public const int DefaultTimeoutMs = 30_000;
    public const int DefaultMaxRowsPerRequest = 1024;
    public const double DefaultSampleRate = 0.01;
    public const long DefaultMaxBodyBytes = 16L << 20;
    public const long MaxBodyBytesLimit = 64L << 20;

    public BatchingSpec BatchingOrDefault => Batching ?? new BatchingSpec();
    public RuntimeSpec RuntimeOrDefault => Runtime ?? new RuntimeSpec();

    public BatchSettings BatchSettings => new()
    {
        MaxBatchSize = BatchingOrDefault.MaxBatchSize,
        MaxDelay = TimeSpan.FromMilliseconds(BatchingOrDefault.MaxDelayMs),
        MaxQueue = BatchingOrDefault.MaxQueue,
        Workers = BatchingOrDefault.Workers ?? new BatchSettings().Workers,
    };

    public OnnxRuntimeSettings RuntimeSettings => new()
    {
        IntraOpThreads = RuntimeOrDefault.IntraOpThreads,
        InterOpThreads = RuntimeOrDefault.InterOpThreads,
        GraphOptimization = RuntimeOrDefault.GraphOptimization,
        Device = RuntimeOrDefault.Device,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonDefaults.Web);

    public static EndpointSpec FromJson(string json) => JsonSerializer.Deserialize<EndpointSpec>(json, JsonDefaults.Web)!;

    /// <summary>Checks every field, naming the first one at fault and the allowed range.</summary>
    public void Validate()
    {
        if (Deployments is null || Deployments.Count == 0)
        {
            throw GureumException.Invalid("deployments", "'deployments' needs at least one model: [{\"model\": \"name\", \"version\": 1}].");
        }
        if (Deployments.Count > 16) throw GureumException.Invalid("deployments", "An endpoint serves at most 16 deployments.");
        for (var i = 0; i < Deployments.Count; i++)
        {
            var d = Deployments[i];
            var at = $"deployments[{i}]";
            if (string.IsNullOrEmpty(d.Model)) throw GureumException.Invalid(at + ".model", $"'{at}.model' is required: a registered model's name.");
            if ((d.Version is null) == (d.Alias is null))
            {
                throw GureumException.Invalid(at + ".version", $"'{at}' must name exactly one of 'version' (a number) or 'alias' (which the endpoint then follows).");
            }
            if (d.Version is < 1) throw GureumException.Invalid(at + ".version", $"'{at}.version' must be 1 or more.");
            if (d.Weight is { } w && (!double.IsFinite(w) || w < 0 || w > 1_000_000))
            {
                throw GureumException.Invalid(at + ".weight", $"'{at}.weight' must be a number from 0 to 1000000 (a relative share of traffic).");
            }
            if (d.Shadow && d.Weight is > 0)
            {
                throw GureumException.Invalid(at + ".weight", $"'{at}' is a shadow: it gets a copy of every request, so it takes no weight.");
            }
            for (var j = 0; j < i; j++)
            {
                var other = Deployments[j];
                if (other.Model == d.Model && other.Version == d.Version && other.Alias == d.Alias)
                {
                    throw GureumException.Invalid(at, $"'{at}' repeats deployments[{j}]; give one deployment the whole weight instead.");
                }
            }
        }
        var live = Deployments.Where(d => !d.Shadow).ToList();
        if (live.Count == 0 || live.Sum(d => d.Weight ?? 1) <= 0)
        {
            throw GureumException.Invalid("deployments", "At least one deployment must be live (not a shadow) with a weight above 0.");
        }
        var batching = BatchingOrDefault;
        Range("batching.maxBatchSize", batching.MaxBatchSize, 1, 4096);
        RangeD("batching.maxDelayMs", batching.MaxDelayMs, 0, 1000);
        Range("batching.maxQueue", batching.MaxQueue, 1, 100_000);
        if (batching.Workers is { } workers) Range("batching.workers", workers, 1, 64);
        var runtime = RuntimeOrDefault;
        Range("runtime.intraOpThreads", runtime.IntraOpThreads, 0, 256);
        Range("runtime.interOpThreads", runtime.InterOpThreads, 0, 256);
        if (!OnnxRuntimeSettings.Optimizations.Contains(runtime.GraphOptimization))
        {
            throw GureumException.Invalid("runtime.graphOptimization", $"'runtime.graphOptimization' must be one of {string.Join(", ", OnnxRuntimeSettings.Optimizations)}.");
        }
        if (!OnnxRuntimeSettings.Devices.Contains(runtime.Device))
        {
            throw GureumException.Invalid("runtime.device", $"'runtime.device' must be one of {string.Join(", ", OnnxRuntimeSettings.Devices)}.");
        }
        Range("timeoutMs", TimeoutMs, 1, 600_000);
        Range("maxRowsPerRequest", MaxRowsPerRequest, 1, 1_000_000);
        if (MaxBodyBytes is < 1024 or > MaxBodyBytesLimit)
        {
            throw GureumException.Invalid("maxBodyBytes", $"'maxBodyBytes' must be from 1024 to {MaxBodyBytesLimit} ({MaxBodyBytesLimit >> 20} MB).");
        }
        RangeD("sampleRate", SampleRate, 0, 1);
        if (MaxConcurrency is { } concurrency) Range("maxConcurrency", concurrency, 1, 100_000);
        if (Placement?.Replicas is { } replicas) Range("placement.replicas", replicas, 1, 1000);
        Placement?.Requirements?.Validate("placement.requirements");
    }

    private static void Range(string field, int value, int min, int max)
    {
        if (value < min || value > max) throw GureumException.Invalid(field, $"'{field}' must be from {min} to {max}; it is {value}.");
    }

    private static void RangeD(string field, double value, double min, double max)
    {
        if (!double.IsFinite(value) || value < min || value > max) throw GureumException.Invalid(field, $"'{field}' must be from {min} to {max}; it is {value}.");
    }
}

public sealed record CreateEndpointRequest(
    string Name,
    IReadOnlyList<DeploymentSpec> Deployments,
    BatchingSpec? Batching = null,
    RuntimeSpec? Runtime = null,
    int TimeoutMs = EndpointSpec.DefaultTimeoutMs,
    int MaxRowsPerRequest = EndpointSpec.DefaultMaxRowsPerRequest,
    long MaxBodyBytes = EndpointSpec.DefaultMaxBodyBytes,
    double SampleRate = EndpointSpec.DefaultSampleRate,
    int? MaxConcurrency = null,
    PlacementSpec? Placement = null)
{
    public EndpointSpec Spec => new(Deployments, Batching, Runtime, TimeoutMs, MaxRowsPerRequest, MaxBodyBytes, SampleRate, MaxConcurrency, Placement);
}

/// <summary>A loaded model version on this node: what answers, its share, how it is doing.</summary>
public sealed record ServedVersionResponse(
    string Model, int Version, string Format, double Weight, bool Shadow, string? Alias, string Device, bool Batching, long MemoryBytes,
    long Requests, long Errors, double? LatencyP50Ms, double? LatencyP99Ms, double? MeanBatchSize, DateTimeOffset LoadedAt);

/// <summary>
/// An endpoint and its state on the node that answered: <c>loading</c> (first load, nothing serves yet), <c>ready</c>
/// or <c>failed</c> (with <see cref="Reason"/>). While a change loads, the previous versions keep serving and
/// <see cref="Update"/> says how the change is going.
/// </summary>
public sealed record EndpointResponse(
    string Id, string Name, string Status, string? Reason, string? Update, int Generation, EndpointSpec Spec,
    IReadOnlyList<ServedVersionResponse> Serving, string Predict, string Infer, long DroppedSamples, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record EndpointListResponse(IReadOnlyList<EndpointResponse> Items);
