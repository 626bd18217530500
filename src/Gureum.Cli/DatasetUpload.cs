using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary><c>datasets upload</c>: streams a local file to the server with a progress bar (or plain lines), then shows the new version.</summary>
internal static class DatasetUpload
{
    public sealed record Request(string Project, string Dataset, string Path, bool Create, DatasetUploadOptions Options);

    public static async Task<int> RunAsync(Session s, Request r, CancellationToken ct)
    {
        try
        {
            return await UploadAsync(s, r, ct);
        }
        catch (GureumApiException e) when (e.Type == "urn:gureum:problem:unreadable-data")
        {
            Actions.Problem(s.Err, e.Title, e.Detail, e.Errors);
            s.Err.MarkupLine("[grey]To leave the bad rows out instead, upload again with --on-error skip.[/]");
            return ExitCodes.FromHttpStatus(e.Status);
        }
    }

    private static async Task<int> UploadAsync(Session s, Request r, CancellationToken ct)
    {
        if (Directory.Exists(r.Path))
        {
            throw new UsageException($"'{r.Path}' is a directory; give the path of a file to upload.");
        }
        if (!File.Exists(r.Path))
        {
            throw new UsageException(Path.IsPathFullyQualified(r.Path)
                ? $"The file '{r.Path}' does not exist."
                : $"The file '{r.Path}' does not exist (looked for {Path.GetFullPath(r.Path)}).");
        }
        var length = new FileInfo(r.Path).Length;
        if (r.Create)
        {
            await EnsureDatasetAsync(s, r.Project, r.Dataset, ct);
        }

        var name = Path.GetFileName(r.Path);
        DatasetVersion version;
        if (s.Json)
        {
            version = await s.Client.UploadDatasetFileAsync(r.Project, r.Dataset, r.Path, r.Options, progress: null, ct);
        }
        else if (!s.Out.Profile.Capabilities.Interactive)
        {
            // Redirected output (CI logs, pipes): a line at each quarter instead of a redrawn bar.
            s.Out.MarkupLine($"Uploading [bold]{Markup.Escape(name)}[/] ({Views.Bytes(length)}) to dataset [bold]{Markup.Escape(r.Dataset)}[/]");
            var quarter = 0;
            var progress = new ImmediateProgress<long>(sent =>
            {
                var reached = length == 0 ? 4 : (int)(sent * 4 / length);
                if (reached > quarter)
                {
                    quarter = reached;
                    s.Out.WriteLine($"{Views.Percent(length == 0 ? 100 : sent * 100.0 / length),6}  {Views.Bytes(sent)} of {Views.Bytes(length)} sent");
                }
            });
            version = await s.Client.UploadDatasetFileAsync(r.Project, r.Dataset, r.Path, r.Options, progress, ct);
        }
        else
        {
            version = await s.Out.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new DownloadedColumn(), new TransferSpeedColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Markup.Escape($"uploading {Shorten(name)}"), maxValue: Math.Max(length, 1));
                    var progress = new ImmediateProgress<long>(sent =>
                    {
                        task.Value = sent;
                        if (sent >= length)
                        {
                            task.Description = Markup.Escape($"{Shorten(name)}: sent, the server is reading it");
                        }
                    });
                    var uploaded = await s.Client.UploadDatasetFileAsync(r.Project, r.Dataset, r.Path, r.Options, progress, ct);
                    task.Value = task.MaxValue;
                    task.Description = Markup.Escape($"{Shorten(name)}: uploaded");
                    task.StopTask();
                    return uploaded;
                });
        }

        if (s.Json)
        {
            s.WriteJson(version);
            return ExitCodes.Ok;
        }
        Views.WriteUploadedVersion(s, r.Dataset, version);
        return ExitCodes.Ok;
    }

    /// <summary>Creates the dataset unless it exists (a concurrent creation is fine).</summary>
    private static async Task EnsureDatasetAsync(Session s, string project, string dataset, CancellationToken ct)
    {
        try
        {
            await s.Client.GetDatasetAsync(project, dataset, ct);
            return;
        }
        catch (GureumApiException e) when (e.Status == 404)
        {
            // Missing: create it below (a missing project fails there with its own 404).
        }
        try
        {
            var created = await s.Client.CreateDatasetAsync(project, dataset, null, ct);
            if (!s.Json)
            {
                s.Out.MarkupLine($"[green]Created dataset[/] [bold]{Markup.Escape(created.Name)}[/] ({Markup.Escape(created.Id)})");
            }
        }
        catch (GureumApiException e) when (e.Status == 409)
        {
            // Created by someone else in the meantime.
        }
    }

    private static string Shorten(string text) =>
        text.Length <= 40 ? text : text[..37] + "...";

    /// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool and may reorder).</summary>
    private sealed class ImmediateProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
