using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Projects;

/// <summary>The tenancy unit: every resource row carries the id of the project it belongs to.</summary>
public sealed class Project
{
    public required string Id { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class ProjectConfiguration : IEntityTypeConfiguration<Project>
{
    public void Configure(EntityTypeBuilder<Project> b)
    {
        b.ToTable("projects");
        b.HasKey(p => p.Id);
        b.Property(p => p.Id).HasMaxLength(26);
        b.Property(p => p.Name).HasMaxLength(64);
        b.Property(p => p.Description).HasMaxLength(1024);
        b.HasIndex(p => p.Name).IsUnique();
    }
}
