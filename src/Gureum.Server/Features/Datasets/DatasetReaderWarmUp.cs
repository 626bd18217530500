using System.Diagnostics;
using Gureum.ML.Data;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Hosting;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Datasets;

/// <summary>
/// Once the server has started, runs the dataset reader over generated rows in the background, so the JIT has
/// compiled and optimised its hot loops before the first upload (a cold reader is about half as fast).
/// </summary>
public sealed partial class DatasetReaderWarmUp(IHostApplicationLifetime lifetime, IOptions<GureumOptions> options, ILogger<DatasetReaderWarmUp> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WarmUpDatasetReader || !await PeriodicWork.WaitForStartAsync(lifetime, stoppingToken)) return;
        var clock = Stopwatch.StartNew();
        try
        {
            await DatasetReader.WarmUpAsync(stoppingToken);
            LogWarmedUp(logger, clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogWarmUpFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dataset reader warmed up in {Milliseconds} ms")]
    private static partial void LogWarmedUp(ILogger logger, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataset reader warm-up failed (uploads still work, the first ones more slowly)")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}
