using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Storage is billed in GB-days: once per UTC day each project's stored bytes (dataset versions, model versions, run
/// artifacts) are counted as that day's usage, under the request id <c>storage:{day}</c>, so every node may try and
/// the day is still counted once. Days the server was down the whole next day are not counted.
/// </summary>
public sealed partial class StorageMeter(GureumDbFactory dbFactory, UsageMeter meter, TimeProvider clock, ILogger<StorageMeter> logger) : BackgroundService
{
    /// <summary>Usage that belongs to no key is counted under this key id.</summary>
    public const string SystemKey = "system";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                await MeterDayAsync(DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(-1), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Counts <paramref name="day"/>'s GB-days for every project holding data (again is harmless).</summary>
    public async Task MeterDayAsync(DateOnly day, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var datasets = await db.Set<DatasetVersion>().AsNoTracking().Select(v => new { v.ProjectId, v.Sha256, v.SizeBytes }).Distinct().ToListAsync(ct);
        var models = await db.Set<ModelVersion>().AsNoTracking().Select(v => new { v.ProjectId, v.SizeBytes }).ToListAsync(ct);
        var artifacts = await db.Set<RunArtifact>().AsNoTracking().Select(a => new { a.ProjectId, a.SizeBytes }).ToListAsync(ct);
        var bytes = datasets.Select(d => (d.ProjectId, d.SizeBytes)).Concat(models.Select(m => (m.ProjectId, m.SizeBytes))).Concat(artifacts.Select(a => (a.ProjectId, a.SizeBytes)))
            .GroupBy(x => x.ProjectId).ToDictionary(g => g.Key, g => g.Sum(x => x.SizeBytes));
        var at = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        var writes = bytes.Where(b => b.Value > 0)
            .Select(b => meter.RecordAsync(b.Key, SystemKey, "storage", "gb-days", Math.Round(b.Value / 1e9, 9), $"storage:{day:yyyy-MM-dd}", at));
        await Task.WhenAll(writes);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not count stored bytes for storage usage; the next hour tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
