using System.Text.Json;
using Gureum.ML.Data;
using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Datasets;

/// <summary>A named collection of immutable versions inside a project.</summary>
public sealed class Dataset
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    public required string Name { get; init; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// An immutable version: the stored bytes (by SHA-256), how they were read, the schema and the profile.
/// A version row exists only once its blob is stored and analysed; nothing half-done is visible.
/// </summary>
public sealed class DatasetVersion
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string ProjectId { get; init; }
    public int Number { get; init; }
    public required string Sha256 { get; init; }
    public long SizeBytes { get; init; }
    public long RowCount { get; init; }
    public long SkippedRows { get; init; }
    /// <summary>upload, appends, or retype (a new schema over an earlier version's bytes).</summary>
    public required string Source { get; init; }
    public int? DerivedFrom { get; init; }
    public required string Format { get; init; }
    public required string Schema { get; init; }
    public required string Profile { get; init; }
    public required string Errors { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>How the bytes were read, so a later read uses exactly the same settings.</summary>
    public DetectedFormat ReadFormat() => JsonSerializer.Deserialize<DetectedFormat>(Format, DatasetIngest.StoredJson)!;

    public DatasetSchema ReadSchema() => JsonSerializer.Deserialize<DatasetSchema>(Schema, DatasetIngest.StoredJson)!;

    public DatasetProfile ReadProfile() => JsonSerializer.Deserialize<DatasetProfile>(Profile, DatasetIngest.StoredJson)!;

    public List<DataError> ReadErrors() => JsonSerializer.Deserialize<List<DataError>>(Errors, DatasetIngest.StoredJson)!;
}

/// <summary>A row appended through the API, waiting to be sealed into the next version.</summary>
public sealed class DatasetAppend
{
    public long Id { get; init; }
    public required string DatasetId { get; init; }
    public required string ProjectId { get; init; }
    public required string Row { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> b)
    {
        b.ToTable("datasets");
        b.HasKey(d => d.Id);
        b.Property(d => d.Id).HasMaxLength(26);
        b.Property(d => d.Name).HasMaxLength(64);
        b.Property(d => d.Description).HasMaxLength(1024);
        b.HasIndex(d => new { d.ProjectId, d.Name }).IsUnique();
        b.HasOne(d => d.Project).WithMany().HasForeignKey(d => d.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DatasetVersionConfiguration : IEntityTypeConfiguration<DatasetVersion>
{
    public void Configure(EntityTypeBuilder<DatasetVersion> b)
    {
        b.ToTable("dataset_versions");
        b.HasKey(v => v.Id);
        b.Property(v => v.Id).HasMaxLength(26);
        b.Property(v => v.Sha256).HasMaxLength(64);
        b.Property(v => v.Source).HasMaxLength(16);
        b.HasIndex(v => new { v.DatasetId, v.Number }).IsUnique();
        b.HasIndex(v => v.Sha256);
        b.HasOne<Dataset>().WithMany().HasForeignKey(v => v.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DatasetAppendConfiguration : IEntityTypeConfiguration<DatasetAppend>
{
    public void Configure(EntityTypeBuilder<DatasetAppend> b)
    {
        b.ToTable("dataset_appends");
        b.HasKey(a => a.Id);
        b.HasIndex(a => new { a.DatasetId, a.Id });
        b.HasOne<Dataset>().WithMany().HasForeignKey(a => a.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}
