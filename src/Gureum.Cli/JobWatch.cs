using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary><c>jobs watch</c>: a live progress bar (or JSON lines) from the job's event stream until it ends.</summary>
internal static class JobWatch
{
    public static async Task<int> RunAsync(Session s, string project, string jobId, CancellationToken ct)
    {
        JobEvent? terminal = null;
        if (s.Json)
        {
            // One JSON object per line (NDJSON), so a script can react to each event.
            await foreach (var e in s.Client.WatchJobAsync(project, jobId, ct))
            {
                s.WriteJson(new { type = e.Type, id = e.Id, data = e.Data }, indented: false);
                terminal = e.IsTerminal ? e : terminal;
            }
        }
        else if (!s.Out.Profile.Capabilities.Interactive)
        {
            // Redirected output (CI logs, pipes): one plain line per event instead of a redrawn bar.
            await foreach (var e in s.Client.WatchJobAsync(project, jobId, ct))
            {
                var percent = e.Percent is { } p ? Views.Percent(p).PadLeft(6) : new string(' ', 6);
                s.Out.MarkupLine($"{Markup.Escape(percent)}  {Markup.Escape(Label(e) ?? "")}");
                terminal = e.IsTerminal ? e : terminal;
            }
        }
        else
        {
            await s.Out.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape($"job {jobId}: waiting"), maxValue: 100);
                    await foreach (var e in s.Client.WatchJobAsync(project, jobId, ct))
                    {
                        if (e.Percent is { } percent)
                        {
                            task.Value = Math.Clamp(percent, 0, 100);
                        }
                        if (Label(e) is { Length: > 0 } label)
                        {
                            task.Description = Markup.Escape(Shorten(label));
                        }
                        if (e.IsTerminal)
                        {
                            terminal = e;
                            if (e.Status == JobStatus.Succeeded)
                            {
                                task.Value = 100;
                            }
                        }
                    }
                    task.StopTask();
                });
        }

        var status = terminal?.Status;
        var error = terminal?.Error;
        if (status is null)
        {
            // The stream ended without a terminal event (the job was already gone from the stream): ask once.
            var job = await s.Client.GetJobAsync(project, jobId, ct);
            (status, error) = (job.Status, job.Error);
        }
        if (status == JobStatus.Succeeded)
        {
            if (!s.Json)
            {
                s.Out.MarkupLine($"[green]Job {Markup.Escape(jobId)} succeeded[/] (100%)");
            }
            return ExitCodes.Ok;
        }
        var word = status?.ToString().ToLowerInvariant() ?? "ended";
        Actions.Problem(s.Err, $"Job {jobId} {word}", error, null);
        return status is JobStatus.Failed or JobStatus.Cancelled ? ExitCodes.JobNotSucceeded : ExitCodes.Unexpected;
    }

    private static string? Label(JobEvent e) => e.Type switch
    {
        "status" => e.Status?.ToString().ToLowerInvariant() + (e.Message is { Length: > 0 } m && !m.Equals(e.Status?.ToString(), StringComparison.OrdinalIgnoreCase) ? ": " + m : ""),
        "log" => "log: " + e.Message,
        _ => e.Message,
    };

    private static string Shorten(string text) =>
        text.Length <= 60 ? text : text[..57] + "...";
}
