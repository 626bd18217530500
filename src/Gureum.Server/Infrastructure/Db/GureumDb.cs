using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Keys;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure.Idempotency;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Gureum.Server.Infrastructure.Db;

/// <summary>
/// The metadata store. One model, two providers: each provider has its own subclass so that its
/// migrations (Migrations/Sqlite, Migrations/Postgres) are generated and applied separately.
/// </summary>
public abstract class GureumDb(DbContextOptions options) : DbContext(options)
{
    public DbSet<Project> Projects => Set<Project>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<JobEvent> JobEvents => Set<JobEvent>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<DatasetVersion> DatasetVersions => Set<DatasetVersion>();
    public DbSet<DatasetAppend> DatasetAppends => Set<DatasetAppend>();
    public DbSet<TrainingJob> TrainingJobs => Set<TrainingJob>();
    public DbSet<TrainingTrial> TrainingTrials => Set<TrainingTrial>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(GureumDb).Assembly);
}

public sealed class SqliteGureumDb(DbContextOptions<SqliteGureumDb> options) : GureumDb(options)
{
    // SQLite cannot compare DateTimeOffset text; as binary ticks it orders and filters correctly.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

public sealed class PostgresGureumDb(DbContextOptions<PostgresGureumDb> options) : GureumDb(options);

/// <summary>Used only by <c>dotnet ef migrations add</c>.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteGureumDb>
{
    public SqliteGureumDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteGureumDb>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresGureumDb>
{
    public PostgresGureumDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresGureumDb>().UseNpgsql("Host=localhost;Database=design").Options);
}
