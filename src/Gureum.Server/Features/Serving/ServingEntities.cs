using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Serving;

/// <summary>
/// A named HTTP endpoint serving registered model versions with traffic weights. <see cref="Spec"/> is the
/// <see cref="EndpointSpec"/> as JSON; <see cref="Generation"/> goes up on every change, which is how every node
/// notices it must load something new. What is loaded where (status) is each node's own state, not a column.
/// </summary>
public sealed class InferenceEndpoint
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string Name { get; init; }
    public required string Spec { get; set; }
    public int Generation { get; set; }
    public string CreatedBy { get; init; } = "";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Which model an endpoint names, by version or by alias: the registry reads these to refuse deleting a version,
/// model or alias that an endpoint serves, and lineage reads them to go from a version to its endpoints.
/// </summary>
public sealed class EndpointModel
{
    public long Id { get; init; }
    public required string EndpointId { get; init; }
    public required string ModelId { get; init; }
    /// <summary>The version named, or null when the endpoint follows <see cref="Alias"/>.</summary>
    public int? Version { get; init; }
    public string? Alias { get; init; }
    public bool Shadow { get; init; }
}

/// <summary>Counts and latency of one endpoint version over one flush interval on one node (append-only).</summary>
public sealed class EndpointUsage
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string Model { get; init; }
    public int Version { get; init; }
    public bool Shadow { get; init; }
    public DateTimeOffset From { get; init; }
    public DateTimeOffset To { get; init; }
    public long Requests { get; init; }
    public long Errors { get; init; }
    public long Rows { get; init; }
    public double LatencyMsSum { get; init; }
    public double LatencyMsMax { get; init; }
    /// <summary>Request counts per latency bucket (<see cref="LatencyHistogram.BoundsMs"/>), as a JSON array.</summary>
    public string Histogram { get; init; } = "[]";
    /// <summary>Request counts per HTTP status, as a JSON object ({"200": n, "400": n, "500": n}).</summary>
    public string Statuses { get; init; } = "{}";
    /// <summary>Dynamic batching (ONNX): runs of the model and the rows they held, for the mean batch size.</summary>
    public long Batches { get; init; }
    public long BatchedRows { get; init; }
}

/// <summary>One sampled prediction: what came in and what went out (each cut at a bound), for monitoring and drift.</summary>
public sealed class PredictionSample
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string Model { get; init; }
    public int Version { get; init; }
    public bool Shadow { get; init; }
    /// <summary>The request's trace id: a shadow's sample carries the live request's, so the two answers pair up.</summary>
    public required string RequestId { get; init; }
    public DateTimeOffset At { get; init; }
    public int Status { get; init; }
    public double LatencyMs { get; init; }
    public required string Input { get; init; }
    public required string Output { get; init; }
}

internal sealed class InferenceEndpointConfiguration : IEntityTypeConfiguration<InferenceEndpoint>
{
    public void Configure(EntityTypeBuilder<InferenceEndpoint> b)
    {
        b.ToTable("endpoints");
        b.HasKey(e => e.Id);
        b.Property(e => e.Id).HasMaxLength(26);
        b.Property(e => e.Name).HasMaxLength(64);
        b.HasIndex(e => new { e.ProjectId, e.Name }).IsUnique();
        b.HasOne(e => e.Project).WithMany().HasForeignKey(e => e.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EndpointModelConfiguration : IEntityTypeConfiguration<EndpointModel>
{
    public void Configure(EntityTypeBuilder<EndpointModel> b)
    {
        b.ToTable("endpoint_models");
        b.HasKey(m => m.Id);
        b.Property(m => m.Alias).HasMaxLength(64);
        b.HasIndex(m => m.EndpointId);
        b.HasIndex(m => m.ModelId);
        b.HasOne<InferenceEndpoint>().WithMany().HasForeignKey(m => m.EndpointId).OnDelete(DeleteBehavior.Cascade);
        // The registry refuses to delete what an endpoint serves; the cascade is only for deleting a whole project.
        b.HasOne<RegisteredModel>().WithMany().HasForeignKey(m => m.ModelId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EndpointUsageConfiguration : IEntityTypeConfiguration<EndpointUsage>
{
    public void Configure(EntityTypeBuilder<EndpointUsage> b)
    {
        b.ToTable("endpoint_usage");
        b.HasKey(u => u.Id);
        b.Property(u => u.Model).HasMaxLength(64);
        b.HasIndex(u => new { u.EndpointId, u.From });
        b.HasOne<Project>().WithMany().HasForeignKey(u => u.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class PredictionSampleConfiguration : IEntityTypeConfiguration<PredictionSample>
{
    public void Configure(EntityTypeBuilder<PredictionSample> b)
    {
        b.ToTable("prediction_samples");
        b.HasKey(s => s.Id);
        b.Property(s => s.Model).HasMaxLength(64);
        b.Property(s => s.RequestId).HasMaxLength(128);
        b.HasIndex(s => new { s.EndpointId, s.At });
        b.HasOne<Project>().WithMany().HasForeignKey(s => s.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}
