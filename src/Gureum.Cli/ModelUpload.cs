using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// <c>models upload</c>: streams a model file as the model's next version, with progress on stderr (stdout keeps the result).
/// Every attempt carries the same Idempotency-Key, so the retries after a dropped connection or a gateway error, here or by
/// the user with <c>--idempotency-key</c>, add the version at most once.
/// </summary>
internal static class ModelUpload
{
    public sealed record Request(string Project, string Model, string Path, bool Create, ModelVersionUpload Metadata, string IdempotencyKey);


    public static async Task<int> RunAsync(Session s, Request r, CancellationToken ct)
    {
        if (Directory.Exists(r.Path))
        {
            throw new UsageException($"'{r.Path}' is a directory; give the path of a model file (.onnx, or an ML.NET .zip).");
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
            await EnsureModelAsync(s, r.Project, r.Model, ct);
        }

        ModelVersion version;
        try
        {
            // On a terminal the bar shows even with --json: it is drawn on stderr, not into the JSON.
            var console = s.Err.Profile.Capabilities.Interactive || !s.Json ? s.Err : null;
            version = await UploadProgress.RunAsync(console, Path.GetFileName(r.Path), $"model [bold]{Markup.Escape(r.Model)}[/]", length,
                progress => IdempotentRetry.RunAsync(s, "Upload",
                    () => s.Client.UploadModelVersionAsync(r.Project, r.Model, r.Path, r.Metadata, r.IdempotencyKey, progress, ct), ct));
        }
        catch (Exception e) when (IdempotentRetry.IsTransient(e, ct) || ct.IsCancellationRequested)
        {
            s.Err.MarkupLine($"[grey]The upload may or may not have been stored. Retrying is safe with the same key: add --idempotency-key {Markup.Escape(r.IdempotencyKey)}[/]");
            throw;
        }

        if (s.Json)
        {
            s.WriteJson(version);
            return ExitCodes.Ok;
        }
        s.Out.MarkupLine($"[green]Created version {version.Version}[/] of model [bold]{Markup.Escape(version.Model)}[/]");
        RegistryViews.WriteVersion(s, version);
        return ExitCodes.Ok;
    }

    /// <summary>Registers the model name unless it exists (a concurrent registration is fine).</summary>
    public static async Task EnsureModelAsync(Session s, string project, string model, CancellationToken ct)
    {
        try
        {
            await s.Client.GetModelAsync(project, model, ct);
            return;
        }
        catch (GureumApiException e) when (e.Status == 404)
        {
            // Missing: register it below (a missing project fails there with its own 404).
        }
        try
        {
            var created = await s.Client.CreateModelAsync(project, model, ct: ct);
            if (!s.Json)
            {
                s.Out.MarkupLine($"[green]Registered model[/] [bold]{Markup.Escape(created.Name)}[/]");
            }
        }
        catch (GureumApiException e) when (e.Status == 409)
        {
            // Registered by someone else in the meantime.
        }
    }
}
