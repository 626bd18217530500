namespace Gureum.Server.Infrastructure.Hosting;

/// <summary>
/// The loop of the background sweeps (job dispatch, node heartbeat, alert and retraining triggers): once the application
/// has started, a pass now and then every period until stopping; a failed pass is reported and the next one runs.
/// </summary>
public static class PeriodicWork
{
    public static async Task RunAfterStartAsync(IHostApplicationLifetime lifetime, TimeSpan period, TimeProvider clock,
        Func<CancellationToken, Task> pass, Action<Exception> failed, CancellationToken stoppingToken)
    {
        if (!await WaitForStartAsync(lifetime, stoppingToken)) return;
        using var timer = new PeriodicTimer(period, clock);
        do
        {
            try
            {
                await pass(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                failed(e);
            }
        }
        while (await TickAsync(timer, stoppingToken));
    }

    /// <summary>Waits until the application has started; false when it is stopping first.</summary>
    public static async Task<bool> WaitForStartAsync(IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled()))
        {
            try
            {
                await started.Task;
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private static async Task<bool> TickAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
