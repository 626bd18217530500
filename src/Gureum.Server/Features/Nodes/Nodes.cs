using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gureum.Server.Infrastructure.Cluster;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Nodes;

public sealed record GpuInfo(string Model, long MemoryBytes);

/// <summary>One node as it last reported itself: what it offers and how loaded it is (a row per node, beaten every few seconds).</summary>
public sealed class ClusterNode
{
    public required string Name { get; init; }
    public string? Silo { get; set; }
    public string? Url { get; set; }
    public int Cores { get; set; }
    public long MemoryBytes { get; set; }
    public string Gpus { get; set; } = "[]";
    public string Labels { get; set; } = "{}";
    public long StartedAt { get; set; }
    public long HeartbeatAt { get; set; }
    public int RunningJobs { get; set; }
    public int LoadedModels { get; set; }
    public double CpuPercent { get; set; }
    public long MemoryUsedBytes { get; set; }

    /// <summary>What it offers, in the shape of silo metadata, for <see cref="NodeCapabilities.Satisfies(IReadOnlyDictionary{string, string}, NodeRequirements?)"/>.</summary>
    public Dictionary<string, string> Metadata() => NodeCapabilities.Metadata(Cores, MemoryBytes,
        JsonSerializer.Deserialize<List<GpuInfo>>(Gpus, Infrastructure.JsonDefaults.Web)?.Count ?? 0,
        JsonSerializer.Deserialize<Dictionary<string, string>>(Labels) ?? []);
}

internal sealed class ClusterNodeConfiguration : IEntityTypeConfiguration<ClusterNode>
{
    public void Configure(EntityTypeBuilder<ClusterNode> b)
    {
        b.ToTable("cluster_nodes");
        b.HasKey(n => n.Name);
        b.Property(n => n.Name).HasMaxLength(128);
        b.Property(n => n.Silo).HasMaxLength(256);
        b.Property(n => n.Url).HasMaxLength(512);
    }
}

/// <summary>
/// What a job needs from the node that runs it: a GPU, at least some memory, labels (e.g. <c>sovereign=true</c> so data
/// marked sovereign is only read on those nodes). Checked by the placement director and again by the job's grain.
/// </summary>
public sealed record NodeRequirements(bool? Gpu = null, double? MinMemoryGb = null, Dictionary<string, string>? Labels = null)
{
    public const string ContextKey = "gureum.requirements";

    public bool IsEmpty => Gpu is not true && MinMemoryGb is null && (Labels is null || Labels.Count == 0);

    public void Validate(string field)
    {
        if (MinMemoryGb is { } gb && (!double.IsFinite(gb) || gb <= 0 || gb > 1_000_000))
        {
            throw GureumException.Invalid(field + ".minMemoryGb", $"'{field}.minMemoryGb' must be a positive number of GiB.");
        }
        foreach (var (key, value) in Labels ?? [])
        {
            if (!NodeCapabilities.IsLabelPart(key) || !NodeCapabilities.IsLabelPart(value))
            {
                throw GureumException.Invalid(field + ".labels", $"'{field}.labels' keys and values are 1 to 63 letters, digits, '.', '_' or '-'.");
            }
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Infrastructure.JsonDefaults.Web);

    public static NodeRequirements? FromJson(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<NodeRequirements>(json, Infrastructure.JsonDefaults.Web);

    /// <summary>"gpu, memory ≥ 8 GiB, sovereign=true" for messages.</summary>
    public override string ToString() => string.Join(", ", new[]
    {
        Gpu is true ? "a GPU" : null,
        MinMemoryGb is { } gb ? string.Create(CultureInfo.InvariantCulture, $"memory ≥ {gb:0.#} GiB") : null,
    }.Concat((Labels ?? []).Select(l => $"{l.Key}={l.Value}")).Where(p => p is not null));
}

/// <summary>
/// This node's name, cores, memory, GPUs (from <c>nvidia-smi</c> when present) and labels, as published in its Orleans
/// silo metadata (so placement reads them without a database call) and its <c>cluster_nodes</c> row.
/// </summary>
public sealed class NodeCapabilities
{
    private const string LabelPrefix = "label.";

    public NodeCapabilities(Jobs.NodeIdentity identity, IOptions<NodeOptions> options)
    {
        Name = identity.Name;
        Cores = Environment.ProcessorCount;
        MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Gpus = DetectedGpus.Value;
        Labels = new Dictionary<string, string>(options.Value.Labels, StringComparer.Ordinal);
        foreach (var (key, value) in Labels)
        {
            if (!IsLabelPart(key) || !IsLabelPart(value))
            {
                throw new InvalidOperationException($"Node label '{key}={value}' is not valid: keys and values are 1 to 63 letters, digits, '.', '_' or '-'.");
            }
        }
    }

    public string Name { get; }
    public int Cores { get; }
    public long MemoryBytes { get; }
    public IReadOnlyList<GpuInfo> Gpus { get; }
    public IReadOnlyDictionary<string, string> Labels { get; }

    internal static bool IsLabelPart(string s) => s.Length is > 0 and <= 63 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public Dictionary<string, string> ToSiloMetadata() => Metadata(Cores, MemoryBytes, Gpus.Count, Labels);

    /// <summary>This machine's cores, memory and GPU count with the labels, as Orleans silo metadata.</summary>
    public static Dictionary<string, string> Metadata(IReadOnlyDictionary<string, string> labels) =>
        Metadata(Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, DetectedGpus.Value.Count, labels);

    /// <summary>What a node offers in the shape placement reads (silo metadata, or a <c>cluster_nodes</c> row's).</summary>
    public static Dictionary<string, string> Metadata(int cores, long memoryBytes, int gpus, IReadOnlyDictionary<string, string> labels)
    {
        var metadata = new Dictionary<string, string>
        {
            ["cores"] = cores.ToString(CultureInfo.InvariantCulture),
            ["memory"] = memoryBytes.ToString(CultureInfo.InvariantCulture),
            ["gpus"] = gpus.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in labels) metadata[LabelPrefix + key] = value;
        return metadata;
    }

    public bool Satisfies(NodeRequirements? requirements) => Satisfies(ToSiloMetadata(), requirements);

    /// <summary>True when a silo with this metadata meets the requirements.</summary>
    public static bool Satisfies(IReadOnlyDictionary<string, string> metadata, NodeRequirements? requirements)
    {
        if (requirements is null || requirements.IsEmpty) return true;
        if (requirements.Gpu is true && (!metadata.TryGetValue("gpus", out var gpus) || gpus == "0")) return false;
        if (requirements.MinMemoryGb is { } gb
            && (!metadata.TryGetValue("memory", out var memory) || long.Parse(memory, CultureInfo.InvariantCulture) < gb * (1L << 30))) return false;
        return (requirements.Labels ?? []).All(l => metadata.TryGetValue(LabelPrefix + l.Key, out var v) && v == l.Value);
    }

    private static readonly Lazy<List<GpuInfo>> DetectedGpus = new(DetectGpus);

    private static List<GpuInfo> DetectGpus()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=name,memory.total --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            if (process is null || !process.WaitForExit(3000) || process.ExitCode != 0) return [];
            return [.. process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split(',', StringSplitOptions.TrimEntries))
                .Where(p => p.Length == 2 && long.TryParse(p[1], out _))
                .Select(p => new GpuInfo(p[0], long.Parse(p[1], CultureInfo.InvariantCulture) << 20))];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return []; // no nvidia-smi: no GPU
        }
    }
}
