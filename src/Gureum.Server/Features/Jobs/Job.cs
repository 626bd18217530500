using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Jobs;

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// Durable record of a unit of background work. The row, not the grain that runs it, is the truth:
/// a job found Queued or Running at start-up (or with a stale heartbeat) is started again from its checkpoint.
/// </summary>
public sealed class Job
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string Kind { get; init; }
    public JobStatus Status { get; set; }
    public double Percent { get; set; }
    public string? Message { get; set; }
    public string? Input { get; init; }
    public string? Result { get; set; }
    public string? Checkpoint { get; set; }
    public string? Error { get; set; }
    public int Attempts { get; set; }
    public bool CancelRequested { get; set; }
    public string? Node { get; set; }
    /// <summary>What the node that runs it must offer (a <see cref="Nodes.NodeRequirements"/> as JSON), or null for any node.</summary>
    public string? Requirements { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }

    public bool IsTerminal => Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

/// <summary>One entry of a job's event stream; <see cref="Sequence"/> is the SSE event id.</summary>
public sealed class JobEvent
{
    public long Id { get; init; }
    public required string JobId { get; init; }
    public int Sequence { get; init; }
    public DateTimeOffset At { get; init; }
    public required string Type { get; init; }
    public required string Data { get; init; }
}

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> b)
    {
        b.ToTable("jobs");
        b.HasKey(j => j.Id);
        b.Property(j => j.Id).HasMaxLength(26);
        b.Property(j => j.Kind).HasMaxLength(64);
        b.Property(j => j.Status).HasConversion<string>().HasMaxLength(16);
        b.Property(j => j.Message).HasMaxLength(1024);
        b.Property(j => j.Error).HasMaxLength(4096);
        b.Property(j => j.Node).HasMaxLength(128);
        b.Property(j => j.Requirements).HasMaxLength(2048);
        b.HasIndex(j => new { j.ProjectId, j.Id });
        b.HasIndex(j => j.Status);
        b.HasOne(j => j.Project).WithMany().HasForeignKey(j => j.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class JobEventConfiguration : IEntityTypeConfiguration<JobEvent>
{
    public void Configure(EntityTypeBuilder<JobEvent> b)
    {
        b.ToTable("job_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.Type).HasMaxLength(16);
        b.HasIndex(e => new { e.JobId, e.Sequence }).IsUnique();
        b.HasOne<Job>().WithMany().HasForeignKey(e => e.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
