using System.Text.Json;
using Gureum.ML.Training;
using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Training;

/// <summary>
/// A training request and, once it succeeds, its outcome: the report and the model blob. The id is the id of the
/// compute-fabric job that runs it, which holds the status and progress.
/// </summary>
public sealed class TrainingJob
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string DatasetId { get; init; }
    public required string DatasetVersionId { get; init; }
    public int VersionNumber { get; init; }
    public string? TestVersionId { get; init; }
    public int? TestVersionNumber { get; init; }
    public required string Target { get; init; }
    public required string Task { get; init; }
    public required string Metric { get; init; }
    public int BudgetSeconds { get; init; }
    public int Seed { get; init; }
    /// <summary>The request as accepted (JSON), replayed on every attempt.</summary>
    public required string Request { get; init; }
    /// <summary>The training report (JSON) once the job succeeded.</summary>
    public string? Report { get; set; }
    public string? ModelSha256 { get; set; }
    public long? ModelSizeBytes { get; set; }
    public string? BestTrainer { get; set; }
    public double? TestScore { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>The key that submitted the job: its core-seconds are counted as that key's usage.</summary>
    public string? KeyId { get; init; }

    public TrainingReport? ReadReport() => Report is null ? null : JsonSerializer.Deserialize<TrainingReport>(Report, Datasets.DatasetIngest.StoredJson);
}

/// <summary>One trial of a search: the shape of a tracking run (parameters, metrics, timing, status).</summary>
public sealed class TrainingTrial
{
    public long Id { get; init; }
    public required string TrainingJobId { get; init; }
    public required string ProjectId { get; init; }
    public int Number { get; init; }
    public int Attempt { get; init; }
    public required string Trainer { get; init; }
    public required string Stage { get; init; }
    public required string Hyperparameters { get; init; }
    public required string Metrics { get; init; }
    public double? Score { get; init; }
    public double DurationSeconds { get; init; }
    public required string Status { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset FinishedAt { get; init; }

    public Dictionary<string, double> ReadHyperparameters() => JsonSerializer.Deserialize<Dictionary<string, double>>(Hyperparameters)!;

    public Dictionary<string, double> ReadMetrics() => JsonSerializer.Deserialize<Dictionary<string, double>>(Metrics)!;
}

internal sealed class TrainingJobConfiguration : IEntityTypeConfiguration<TrainingJob>
{
    public void Configure(EntityTypeBuilder<TrainingJob> b)
    {
        b.ToTable("training_jobs");
        b.HasKey(t => t.Id);
        b.Property(t => t.Id).HasMaxLength(26);
        b.Property(t => t.Task).HasMaxLength(16);
        b.Property(t => t.Metric).HasMaxLength(32);
        b.Property(t => t.ModelSha256).HasMaxLength(64);
        b.Property(t => t.BestTrainer).HasMaxLength(64);
        b.HasIndex(t => new { t.ProjectId, t.Id });
        b.HasIndex(t => t.DatasetVersionId);
        b.HasIndex(t => t.ModelSha256);
        b.HasOne(t => t.Project).WithMany().HasForeignKey(t => t.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class TrainingTrialConfiguration : IEntityTypeConfiguration<TrainingTrial>
{
    public void Configure(EntityTypeBuilder<TrainingTrial> b)
    {
        b.ToTable("training_trials");
        b.HasKey(t => t.Id);
        b.Property(t => t.Trainer).HasMaxLength(64);
        b.Property(t => t.Stage).HasMaxLength(16);
        b.Property(t => t.Status).HasMaxLength(16);
        b.Property(t => t.Error).HasMaxLength(2048);
        b.HasIndex(t => new { t.TrainingJobId, t.Number }).IsUnique();
        b.HasOne<TrainingJob>().WithMany().HasForeignKey(t => t.TrainingJobId).OnDelete(DeleteBehavior.Cascade);
    }
}
