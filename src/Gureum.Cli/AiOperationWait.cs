using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// Waits for an asynchronous OCR or STT operation with its progress on stderr (a bar on a terminal, a line per change
/// otherwise), so stdout keeps only the result. The operation is deleted afterwards: the result is in hand, and the
/// uploaded file should not stay on the server for a day. Deleting it on Ctrl+C also stops the work.
/// </summary>
internal static class AiOperationWait
{
    /// <param name="what">What runs, for the progress and a failure, e.g. "OCR of scan.pdf".</param>
    /// <returns>The result; null when the operation failed (the reason is already printed).</returns>
    public static async Task<T?> RunAsync<T>(Session s, string project, AiOperation started, string what, CancellationToken ct) where T : class
    {
        AiOperation final;
        try
        {
            final = s.Err.Profile.Capabilities.Interactive ? await WithBarAsync(s, project, started, what, ct) : await WithLinesAsync(s, project, started, what, ct);
        }
        finally
        {
            await DeleteAsync(s, project, started.Id);
        }
        if (final.Status == "succeeded")
        {
            return final.ResultAs<T>() ?? throw new JsonException($"Operation {final.Id} succeeded without a result.");
        }
        Actions.Problem(s.Err, $"{what} failed", final.Error ?? "The server gave no reason.", null);
        return null;
    }

    private static Task<AiOperation> WithBarAsync(Session s, string project, AiOperation started, string what, CancellationToken ct) =>
        s.Err.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape($"{what}: waiting"), maxValue: 100);
                var final = await s.Client.WaitForOperationAsync(project, started.Id, new ImmediateProgress<AiOperation>(o =>
                {
                    task.Value = Math.Clamp(o.PercentDone, 0, 100);
                    task.Description = Markup.Escape($"{what}: {State(o)}");
                }), ct: ct);
                task.StopTask();
                return final;
            });

    private static async Task<AiOperation> WithLinesAsync(Session s, string project, AiOperation started, string what, CancellationToken ct)
    {
        s.Err.MarkupLine(Markup.Escape($"{what}: operation {started.Id}"));
        string? shown = null;
        return await s.Client.WaitForOperationAsync(project, started.Id, new ImmediateProgress<AiOperation>(o =>
        {
            var line = $"{Views.Percent(o.PercentDone),6}  {State(o)}";
            if (line != shown)
            {
                s.Err.MarkupLine(Markup.Escape(line));
                shown = line;
            }
        }), ct: ct);
    }

    private static string State(AiOperation o) => o.Status switch
    {
        "notStarted" => "waiting for a worker",
        "running" when o.Message is { Length: > 0 } message => message,
        _ => o.Status,
    };

    /// <summary>Best effort, with its own short time limit: the caller's token may be the one that was cancelled.</summary>
    private static async Task DeleteAsync(Session s, string project, string id)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await s.Client.DeleteOperationAsync(project, id, limit.Token);
        }
        catch (Exception e) when (e is GureumApiException or HttpRequestException or OperationCanceledException)
        {
            // It expires on the server by itself (Gureum:Ai:OperationTtl).
        }
    }
}
