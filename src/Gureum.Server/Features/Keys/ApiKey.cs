using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Keys;

/// <summary>
/// An API key. Only the SHA-256 of its secret is stored; the full key is shown once, at creation.
/// A key with no project is an admin key (it may only carry the admin scope).
/// </summary>
public sealed class ApiKey
{
    public required string Id { get; init; }

    /// <summary>The middle part of <c>gur_&lt;publicId&gt;_&lt;secret&gt;</c>: finds the row without revealing the secret.</summary>
    public required string PublicId { get; init; }

    public string? ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string Name { get; init; }

    /// <summary>Space-separated scope names (see <see cref="Scopes"/>).</summary>
    public required string Scopes { get; init; }

    public required byte[] SecretHash { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> b)
    {
        b.ToTable("api_keys");
        b.HasKey(k => k.Id);
        b.Property(k => k.Id).HasMaxLength(26);
        b.Property(k => k.PublicId).HasMaxLength(32);
        b.HasIndex(k => k.PublicId).IsUnique();
        b.Property(k => k.Name).HasMaxLength(64);
        b.Property(k => k.Scopes).HasMaxLength(256);
        b.Property(k => k.SecretHash).HasMaxLength(32);
        b.HasOne(k => k.Project).WithMany().HasForeignKey(k => k.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}
