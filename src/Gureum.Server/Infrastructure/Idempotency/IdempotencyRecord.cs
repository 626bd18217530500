using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Infrastructure.Idempotency;

/// <summary>The stored answer to a creating POST sent with an Idempotency-Key, kept for a day.</summary>
public sealed class IdempotencyRecord
{
    public long Id { get; init; }
    public required string ApiKeyId { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public bool Completed { get; set; }
    public int ResponseStatus { get; set; }
    public string? ResponseContentType { get; set; }
    public string? ResponseLocation { get; set; }
    public byte[]? ResponseBody { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class IdempotencyRecordConfiguration : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> b)
    {
        b.ToTable("idempotency_records");
        b.HasKey(r => r.Id);
        b.Property(r => r.ApiKeyId).HasMaxLength(26);
        b.Property(r => r.Key).HasMaxLength(255);
        b.Property(r => r.RequestHash).HasMaxLength(64);
        b.Property(r => r.ResponseContentType).HasMaxLength(128);
        b.Property(r => r.ResponseLocation).HasMaxLength(512);
        b.HasIndex(r => new { r.ApiKeyId, r.Key }).IsUnique();
        b.HasIndex(r => r.CreatedAt);
    }
}
