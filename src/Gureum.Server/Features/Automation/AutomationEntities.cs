using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Serving;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Automation;

/// <summary>
/// A condition on an endpoint checked every sweep (drift severity, live metric drop, error rate, p99 latency over a
/// window). <see cref="LastFiredAt"/> (unix seconds) is claimed with a conditional update, so across nodes a rule fires
/// at most once per cooldown.
/// </summary>
public sealed class AlertRule
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string Kind { get; init; }
    public double Threshold { get; init; }
    public int WindowSeconds { get; init; }
    public int CooldownSeconds { get; init; }
    public long MinimumCount { get; init; }
    public string? WebhookUrl { get; init; }
    public bool Enabled { get; set; } = true;
    public long? LastFiredAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>One firing of an alert rule, with what was measured and how the webhook delivery went.</summary>
public sealed class AlertEvent
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string RuleId { get; init; }
    public required string Kind { get; init; }
    public long At { get; init; }
    public double Value { get; init; }
    public double Threshold { get; init; }
    public required string Message { get; init; }
    /// <summary>JSON: the measurement behind the alert (drifted features, metric values).</summary>
    public required string Evidence { get; init; }
    /// <summary>none (no webhook), delivered, or failed.</summary>
    public string Delivery { get; set; } = "none";
    public string? DeliveryError { get; set; }
}

/// <summary>
/// When and how an endpoint's model is retrained and promoted (<see cref="Spec"/>: a <see cref="RetrainingPolicySpec"/>
/// as JSON). One per endpoint. <see cref="NextScheduledAt"/> and <see cref="LastDatasetVersion"/> are the trigger
/// cursors, advanced with conditional updates so a trigger is taken by one node once.
/// </summary>
public sealed class RetrainingPolicy
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string Spec { get; set; }
    public bool Enabled { get; set; } = true;
    public long? NextScheduledAt { get; set; }
    public int? LastDatasetVersion { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One run of the retraining pipeline for one trigger; its id is the id of the job that runs it. The unique
/// (policy, trigger key) pair is what makes every trigger run once, whichever node saw it and however often.
/// </summary>
public sealed class RetrainingRun
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string PolicyId { get; init; }
    public required string EndpointId { get; init; }
    public required string TriggerKey { get; init; }
    public required string Trigger { get; init; }
    /// <summary>JSON: what fired (the alert, the schedule time, the dataset version, the caller).</summary>
    public required string TriggerDetail { get; init; }
    public required string Status { get; set; }
    public string? Reason { get; set; }
    public required string Model { get; set; }
    public int ChampionVersion { get; set; }
    public string? ChallengerTrainingJobId { get; set; }
    public int? ChallengerVersion { get; set; }
    /// <summary>JSON: champion and challenger metrics on the same holdout, the margin, the smoke test.</summary>
    public string? Evidence { get; set; }
    public string? DecidedBy { get; set; }
    public string? DecisionComment { get; set; }
    public DateTimeOffset? DecidedAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>The audit log of a retraining run: every step with its inputs and outcome.</summary>
public sealed class RetrainingEvent
{
    public long Id { get; init; }
    public required string RunId { get; init; }
    public required string ProjectId { get; init; }
    public DateTimeOffset At { get; init; }
    public required string Step { get; init; }
    public required string Outcome { get; init; }
    public required string Message { get; init; }
    public required string Data { get; init; }
}

internal sealed class AlertRuleConfiguration : IEntityTypeConfiguration<AlertRule>
{
    public void Configure(EntityTypeBuilder<AlertRule> b)
    {
        b.ToTable("alert_rules");
        b.HasKey(r => r.Id);
        b.Property(r => r.Id).HasMaxLength(26);
        b.Property(r => r.Kind).HasMaxLength(32);
        b.Property(r => r.WebhookUrl).HasMaxLength(2048);
        b.HasIndex(r => r.EndpointId);
        b.HasOne<Project>().WithMany().HasForeignKey(r => r.ProjectId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<InferenceEndpoint>().WithMany().HasForeignKey(r => r.EndpointId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class AlertEventConfiguration : IEntityTypeConfiguration<AlertEvent>
{
    public void Configure(EntityTypeBuilder<AlertEvent> b)
    {
        b.ToTable("alert_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.Id).HasMaxLength(26);
        b.Property(e => e.Kind).HasMaxLength(32);
        b.Property(e => e.Delivery).HasMaxLength(16);
        b.Property(e => e.DeliveryError).HasMaxLength(1024);
        b.HasIndex(e => new { e.EndpointId, e.At });
        b.HasOne<Project>().WithMany().HasForeignKey(e => e.ProjectId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<InferenceEndpoint>().WithMany().HasForeignKey(e => e.EndpointId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RetrainingPolicyConfiguration : IEntityTypeConfiguration<RetrainingPolicy>
{
    public void Configure(EntityTypeBuilder<RetrainingPolicy> b)
    {
        b.ToTable("retraining_policies");
        b.HasKey(p => p.Id);
        b.Property(p => p.Id).HasMaxLength(26);
        b.HasIndex(p => p.EndpointId).IsUnique();
        b.HasOne<Project>().WithMany().HasForeignKey(p => p.ProjectId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<InferenceEndpoint>().WithMany().HasForeignKey(p => p.EndpointId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RetrainingRunConfiguration : IEntityTypeConfiguration<RetrainingRun>
{
    public void Configure(EntityTypeBuilder<RetrainingRun> b)
    {
        b.ToTable("retraining_runs");
        b.HasKey(r => r.Id);
        b.Property(r => r.Id).HasMaxLength(26);
        b.Property(r => r.TriggerKey).HasMaxLength(128);
        b.Property(r => r.Trigger).HasMaxLength(32);
        b.Property(r => r.Status).HasMaxLength(32);
        b.Property(r => r.Reason).HasMaxLength(2048);
        b.Property(r => r.Model).HasMaxLength(64);
        b.Property(r => r.DecisionComment).HasMaxLength(2048);
        b.HasIndex(r => new { r.PolicyId, r.TriggerKey }).IsUnique();
        b.HasIndex(r => new { r.ProjectId, r.Status });
        b.HasOne<Project>().WithMany().HasForeignKey(r => r.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RetrainingEventConfiguration : IEntityTypeConfiguration<RetrainingEvent>
{
    public void Configure(EntityTypeBuilder<RetrainingEvent> b)
    {
        b.ToTable("retraining_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.Step).HasMaxLength(32);
        b.Property(e => e.Outcome).HasMaxLength(32);
        b.Property(e => e.Message).HasMaxLength(2048);
        b.HasIndex(e => e.RunId);
        b.HasOne<RetrainingRun>().WithMany().HasForeignKey(e => e.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
