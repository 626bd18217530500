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

        // Progress goes to stdout beside the result, so none with --json.
        var version = await UploadProgress.RunAsync(s.Json ? null : s.Out, Path.GetFileName(r.Path), $"dataset [bold]{Markup.Escape(r.Dataset)}[/]", length,
            progress => s.Client.UploadDatasetFileAsync(r.Project, r.Dataset, r.Path, r.Options, progress, ct));

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
}
