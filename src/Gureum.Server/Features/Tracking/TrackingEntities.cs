using System.Text.Json;
using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Tracking;

/// <summary>
/// A group of runs inside a project. <see cref="Number"/> is the MLflow <c>experiment_id</c>: numbered per project, so
/// every project has its own "0" (Default), as every MLflow server does.
/// </summary>
public sealed class Experiment
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public long Number { get; init; }
    public required string Name { get; set; }
    public string LifecycleStage { get; set; } = Lifecycle.Active;
    /// <summary>Tags as a JSON object (experiments are not searched by tag often enough to need a table).</summary>
    public string Tags { get; set; } = "{}";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public Dictionary<string, string> ReadTags() => JsonSerializer.Deserialize<Dictionary<string, string>>(Tags)!;
}

public static class Lifecycle
{
    public const string Active = "active";
    public const string Deleted = "deleted";
}

public static class RunStatus
{
    public const string Running = "RUNNING";
    public const string Scheduled = "SCHEDULED";
    public const string Finished = "FINISHED";
    public const string Failed = "FAILED";
    public const string Killed = "KILLED";
    public static readonly string[] All = [Running, Scheduled, Finished, Failed, Killed];
}

/// <summary>
/// One execution: parameters, tags, metric series and artifacts. The id is 32 hex characters, like MLflow's.
/// <see cref="Source"/> says who made it: <c>training</c> (a Gureum training job or one of its trials), <c>external</c>
/// (an MLflow client or the API).
/// </summary>
public sealed class Run
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string ExperimentId { get; set; }
    public Experiment? Experiment { get; init; }
    public required string Name { get; set; }
    public string Status { get; set; } = RunStatus.Running;
    public string LifecycleStage { get; set; } = Lifecycle.Active;
    /// <summary>Unix milliseconds, as MLflow reports them.</summary>
    public long StartTime { get; init; }
    public long? EndTime { get; set; }
    public string UserId { get; init; } = "";
    public string Source { get; init; } = "external";
    public string? TrainingJobId { get; init; }
    public string? ParentRunId { get; init; }
    public string? DatasetVersionId { get; init; }
}

public sealed class RunParam
{
    public required string RunId { get; init; }
    public required string Key { get; init; }
    public required string Value { get; init; }
}

public sealed class RunTag
{
    public required string RunId { get; init; }
    public required string Key { get; init; }
    public required string Value { get; set; }
}

/// <summary>One point of a metric series.</summary>
public sealed class RunMetric
{
    public long Id { get; init; }
    public required string RunId { get; init; }
    public required string Key { get; init; }
    public double Value { get; init; }
    public long Timestamp { get; init; }
    public long Step { get; init; }
}

/// <summary>The latest point of each series (highest step, then latest time): what searches filter and sort on.</summary>
public sealed class RunLatestMetric
{
    public required string RunId { get; init; }
    public required string Key { get; init; }
    public double Value { get; set; }
    public long Timestamp { get; set; }
    public long Step { get; set; }
}

/// <summary>A file of a run, stored by content hash; <see cref="Path"/> is relative to the run's artifact root.</summary>
public sealed class RunArtifact
{
    public required string RunId { get; init; }
    public required string ProjectId { get; init; }
    public required string Path { get; init; }
    public required string Sha256 { get; set; }
    public long SizeBytes { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class ExperimentConfiguration : IEntityTypeConfiguration<Experiment>
{
    public void Configure(EntityTypeBuilder<Experiment> b)
    {
        b.ToTable("experiments");
        b.HasKey(e => e.Id);
        b.Property(e => e.Id).HasMaxLength(26);
        b.Property(e => e.Name).HasMaxLength(500);
        b.Property(e => e.LifecycleStage).HasMaxLength(16);
        b.HasIndex(e => new { e.ProjectId, e.Number }).IsUnique();
        b.HasIndex(e => new { e.ProjectId, e.Name }).IsUnique();
        b.HasOne(e => e.Project).WithMany().HasForeignKey(e => e.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunConfiguration : IEntityTypeConfiguration<Run>
{
    public void Configure(EntityTypeBuilder<Run> b)
    {
        b.ToTable("runs");
        b.HasKey(r => r.Id);
        b.Property(r => r.Id).HasMaxLength(32);
        b.Property(r => r.Name).HasMaxLength(250);
        b.Property(r => r.Status).HasMaxLength(16);
        b.Property(r => r.LifecycleStage).HasMaxLength(16);
        b.Property(r => r.UserId).HasMaxLength(256);
        b.Property(r => r.Source).HasMaxLength(16);
        b.HasIndex(r => new { r.ProjectId, r.ExperimentId, r.StartTime });
        b.HasIndex(r => r.TrainingJobId);
        b.HasIndex(r => r.ParentRunId);
        b.HasOne(r => r.Experiment).WithMany().HasForeignKey(r => r.ExperimentId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunParamConfiguration : IEntityTypeConfiguration<RunParam>
{
    public void Configure(EntityTypeBuilder<RunParam> b)
    {
        b.ToTable("run_params");
        b.HasKey(p => new { p.RunId, p.Key });
        b.Property(p => p.Key).HasMaxLength(250);
        b.Property(p => p.Value).HasMaxLength(6000);
        b.HasOne<Run>().WithMany().HasForeignKey(p => p.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunTagConfiguration : IEntityTypeConfiguration<RunTag>
{
    public void Configure(EntityTypeBuilder<RunTag> b)
    {
        b.ToTable("run_tags");
        b.HasKey(t => new { t.RunId, t.Key });
        b.Property(t => t.Key).HasMaxLength(250);
        b.Property(t => t.Value).HasMaxLength(8000);
        b.HasOne<Run>().WithMany().HasForeignKey(t => t.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunMetricConfiguration : IEntityTypeConfiguration<RunMetric>
{
    public void Configure(EntityTypeBuilder<RunMetric> b)
    {
        b.ToTable("run_metrics");
        b.HasKey(m => m.Id);
        b.Property(m => m.Key).HasMaxLength(250);
        b.HasIndex(m => new { m.RunId, m.Key, m.Step });
        b.HasOne<Run>().WithMany().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunLatestMetricConfiguration : IEntityTypeConfiguration<RunLatestMetric>
{
    public void Configure(EntityTypeBuilder<RunLatestMetric> b)
    {
        b.ToTable("run_latest_metrics");
        b.HasKey(m => new { m.RunId, m.Key });
        b.Property(m => m.Key).HasMaxLength(250);
        b.HasOne<Run>().WithMany().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunArtifactConfiguration : IEntityTypeConfiguration<RunArtifact>
{
    public void Configure(EntityTypeBuilder<RunArtifact> b)
    {
        b.ToTable("run_artifacts");
        b.HasKey(a => new { a.RunId, a.Path });
        b.Property(a => a.Path).HasMaxLength(1024);
        b.Property(a => a.Sha256).HasMaxLength(64);
        b.HasIndex(a => a.Sha256);
        b.HasOne<Run>().WithMany().HasForeignKey(a => a.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
