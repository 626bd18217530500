using System.Text.Json;
using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Registry;

/// <summary>A named model inside a project; its versions are immutable files with a signature and lineage.</summary>
public sealed class RegisteredModel
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string Name { get; set; }
    public string Description { get; set; } = "";
    public string Tags { get; set; } = "{}";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public Dictionary<string, string> ReadTags() => JsonSerializer.Deserialize<Dictionary<string, string>>(Tags)!;
}

/// <summary>
/// One immutable model file (ONNX or ML.NET zip, by content hash) with what it was validated to be (signature), how
/// good it was (metrics) and where it came from (run, training job, dataset version). A row exists only once the file
/// passed validation, so every visible version is loadable.
/// </summary>
public sealed class ModelVersion
{
    public required string Id { get; init; }
    public required string ModelId { get; init; }
    public RegisteredModel? Model { get; init; }
    public required string ProjectId { get; init; }
    public int Version { get; init; }
    /// <summary>onnx or mlnet.</summary>
    public required string Format { get; init; }
    public required string Sha256 { get; init; }
    public long SizeBytes { get; init; }
    public required string Signature { get; init; }
    public string Metrics { get; init; } = "{}";
    /// <summary>What the user named as the source (an upload, <c>runs:/…</c>, a training job).</summary>
    public required string Source { get; init; }
    public string? RunId { get; init; }
    public string? TrainingJobId { get; init; }
    public string? DatasetVersionId { get; init; }
    public string Description { get; set; } = "";
    public string Tags { get; set; } = "{}";
    public string CreatedBy { get; init; } = "";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public Dictionary<string, string> ReadTags() => JsonSerializer.Deserialize<Dictionary<string, string>>(Tags)!;

    public Dictionary<string, double> ReadMetrics() => JsonSerializer.Deserialize<Dictionary<string, double>>(Metrics)!;
}

/// <summary>A movable name (champion, challenger, …) pointing at one version of a model.</summary>
public sealed class ModelAlias
{
    public required string ModelId { get; init; }
    public required string Alias { get; init; }
    public int Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string UpdatedBy { get; set; } = "";
}

/// <summary>Who moved an alias from which version to which, and when (removal: <see cref="ToVersion"/> is null).</summary>
public sealed class ModelAliasEvent
{
    public long Id { get; init; }
    public required string ModelId { get; init; }
    public required string Alias { get; init; }
    public int? FromVersion { get; init; }
    public int? ToVersion { get; init; }
    public required string By { get; init; }
    public DateTimeOffset At { get; init; }
}

internal sealed class RegisteredModelConfiguration : IEntityTypeConfiguration<RegisteredModel>
{
    public void Configure(EntityTypeBuilder<RegisteredModel> b)
    {
        b.ToTable("registered_models");
        b.HasKey(m => m.Id);
        b.Property(m => m.Id).HasMaxLength(26);
        b.Property(m => m.Name).HasMaxLength(64);
        b.Property(m => m.Description).HasMaxLength(5000);
        b.HasIndex(m => new { m.ProjectId, m.Name }).IsUnique();
        b.HasOne(m => m.Project).WithMany().HasForeignKey(m => m.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ModelVersionConfiguration : IEntityTypeConfiguration<ModelVersion>
{
    public void Configure(EntityTypeBuilder<ModelVersion> b)
    {
        b.ToTable("model_versions");
        b.HasKey(v => v.Id);
        b.Property(v => v.Id).HasMaxLength(26);
        b.Property(v => v.Format).HasMaxLength(16);
        b.Property(v => v.Sha256).HasMaxLength(64);
        b.Property(v => v.Source).HasMaxLength(1024);
        b.Property(v => v.Description).HasMaxLength(5000);
        b.HasIndex(v => new { v.ModelId, v.Version }).IsUnique();
        b.HasIndex(v => v.Sha256);
        b.HasIndex(v => v.RunId);
        b.HasIndex(v => v.TrainingJobId);
        b.HasIndex(v => v.DatasetVersionId);
        b.HasOne(v => v.Model).WithMany().HasForeignKey(v => v.ModelId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ModelAliasConfiguration : IEntityTypeConfiguration<ModelAlias>
{
    public void Configure(EntityTypeBuilder<ModelAlias> b)
    {
        b.ToTable("model_aliases");
        b.HasKey(a => new { a.ModelId, a.Alias });
        b.Property(a => a.Alias).HasMaxLength(64);
        b.HasOne<RegisteredModel>().WithMany().HasForeignKey(a => a.ModelId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ModelAliasEventConfiguration : IEntityTypeConfiguration<ModelAliasEvent>
{
    public void Configure(EntityTypeBuilder<ModelAliasEvent> b)
    {
        b.ToTable("model_alias_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.Alias).HasMaxLength(64);
        b.HasIndex(e => new { e.ModelId, e.Id });
        b.HasOne<RegisteredModel>().WithMany().HasForeignKey(e => e.ModelId).OnDelete(DeleteBehavior.Cascade);
    }
}
