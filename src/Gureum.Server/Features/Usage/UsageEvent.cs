using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// One billable unit count: which project and key used which service, what was counted (pages, characters, audio
/// seconds, images) and for which request. The metering issue builds quotas and invoices on these rows.
/// </summary>
public sealed class UsageEvent
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string KeyId { get; init; }
    /// <summary>ocr, tts, stt, translate, faces, ...</summary>
    public required string Service { get; init; }
    /// <summary>pages, characters, audio-seconds, images, ...</summary>
    public required string Meter { get; init; }
    public double Quantity { get; init; }
    public DateTimeOffset At { get; init; }
    public required string RequestId { get; init; }
}

internal sealed class UsageEventConfiguration : IEntityTypeConfiguration<UsageEvent>
{
    public void Configure(EntityTypeBuilder<UsageEvent> b)
    {
        b.ToTable("usage_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.KeyId).HasMaxLength(26);
        b.Property(e => e.Service).HasMaxLength(128);
        b.Property(e => e.Meter).HasMaxLength(32);
        b.Property(e => e.RequestId).HasMaxLength(128);
        b.HasIndex(e => new { e.ProjectId, e.At });
        // A replayed request (same id) counts once per service and meter.
        b.HasIndex(e => new { e.ProjectId, e.RequestId, e.Service, e.Meter }).IsUnique();
        b.HasOne(e => e.Project).WithMany().HasForeignKey(e => e.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}
