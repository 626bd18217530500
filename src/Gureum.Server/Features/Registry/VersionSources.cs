using Gureum.Server.Features.Mlflow;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Registry;

/// <summary>A model file in a private scratch directory of its own, for validation before it is stored; deleted on dispose.</summary>
public sealed class StagedModelFile(IArtifactStore store) : IDisposable
{
    private readonly DirectoryInfo _directory = store.CreateScratchDirectory();

    /// <summary>The server names the file itself; user file names are only a format hint.</summary>
    public string Path => System.IO.Path.Combine(_directory.FullName, "model");

    /// <param name="fromClient">The bytes come from the request: a body that ends early is the client's error (400), not ours.</param>
    public static async Task<StagedModelFile> FromStreamAsync(IArtifactStore store, Stream content, long maxBytes, CancellationToken ct, bool fromClient = false)
    {
        var staged = new StagedModelFile(store);
        try
        {
            await using var file = new FileStream(staged.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await ReadAsync(content, buffer, fromClient, ct)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new GureumException(ProblemCode.PayloadTooLarge, $"Model files are limited to {maxBytes:N0} bytes (Gureum:Models:MaxBytes).",
                        mlflowCode: MlflowCodes.InvalidParameterValue);
                }
                await file.WriteAsync(buffer.AsMemory(0, read), ct);
            }
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    private static async Task<int> ReadAsync(Stream content, byte[] buffer, bool fromClient, CancellationToken ct)
    {
        try
        {
            return await content.ReadAsync(buffer, ct);
        }
        catch (IOException e) when (fromClient && !ct.IsCancellationRequested)
        {
            throw GureumException.Invalid("file", "The upload ended before it was complete (a multipart body needs its closing boundary): " + e.Message);
        }
    }

    public void Dispose()
    {
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // the next start's abandoned-temp sweep takes it
        }
    }
}

/// <summary>A version's origin resolved to a file in the store plus its lineage and metrics.</summary>
public sealed record ResolvedSource(string Sha256, string FileName, NewVersion Version);

/// <summary>
/// Turns what a user names as a version's source — <c>runs:/&lt;run&gt;/&lt;path&gt;</c>,
/// <c>mlflow-artifacts:/&lt;experiment&gt;/&lt;run&gt;/artifacts/&lt;path&gt;</c>, or a Gureum training job — into a stored
/// file of the same project. Server paths, <c>file://</c> and remote URIs are refused: only our own storage keys.
/// </summary>
public sealed class VersionSources(GureumDb db, TrackingStore tracking)
{
    public async Task<ResolvedSource> FromUriAsync(string projectId, string source, string? runId, CancellationToken ct)
    {
        Run run;
        string? path;
        if (source.StartsWith("runs:/", StringComparison.Ordinal))
        {
            var rest = source["runs:/".Length..].TrimStart('/');
            var slash = rest.IndexOf('/');
            run = await tracking.FindRunAsync(projectId, slash < 0 ? rest : rest[..slash], ct);
            path = ArtifactPaths.Normalize(slash < 0 ? null : rest[(slash + 1)..], "source");
        }
        else if (source.StartsWith("mlflow-artifacts:/", StringComparison.Ordinal))
        {
            (run, path) = await MlflowApi.ResolveArtifactPathAsync(tracking, projectId, source["mlflow-artifacts:/".Length..].TrimStart('/'), ct);
        }
        else
        {
            throw TrackingStore.Invalid("source", "'source' must be a run artifact of this project: 'runs:/<run_id>/<path>' or " +
                "'mlflow-artifacts:/<experiment_id>/<run_id>/artifacts/<path>' (server paths, file:// and remote URIs are not accepted).");
        }
        if (runId is not null && runId != run.Id)
        {
            throw TrackingStore.Invalid("run_id", $"'run_id' {runId} is not the run of the source ({run.Id}).");
        }
        var artifact = await PickModelFileAsync(run, path, ct);
        var view = await tracking.ViewAsync(run, ct);
        var metrics = view.Metrics.ToDictionary(m => m.Key, m => m.Value);
        return new ResolvedSource(artifact.Sha256, artifact.Path, new NewVersion(source, artifact.Path, RunId: run.Id,
            TrainingJobId: run.TrainingJobId, DatasetVersionId: run.DatasetVersionId, Metrics: metrics));
    }

    public async Task<ResolvedSource> FromTrainingJobAsync(string projectId, string trainingJobId, CancellationToken ct)
    {
        var training = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.ProjectId == projectId && t.Id == trainingJobId, ct)
            ?? throw TrackingStore.NotFound($"Training job '{trainingJobId}' does not exist in this project.");
        if (training.ModelSha256 is null)
        {
            throw new GureumException(ProblemCode.Conflict, $"Training job '{trainingJobId}' has no model yet; register it once it has succeeded.",
                mlflowCode: MlflowCodes.InvalidState);
        }
        var run = await db.Set<Run>().AsNoTracking().FirstOrDefaultAsync(r => r.TrainingJobId == training.Id && r.ParentRunId == null, ct);
        var report = training.ReadReport();
        return new ResolvedSource(training.ModelSha256, "model.zip", new NewVersion($"training-jobs/{training.Id}", "model.zip", RunId: run?.Id,
            TrainingJobId: training.Id, DatasetVersionId: training.DatasetVersionId, Metrics: report?.TestMetrics));
    }

    /// <summary>The file itself, or the one model file (.onnx or .zip) inside a directory such as MLflow's <c>model/</c>.</summary>
    private async Task<RunArtifact> PickModelFileAsync(Run run, string? path, CancellationToken ct)
    {
        if (path is not null)
        {
            var exact = await db.Set<RunArtifact>().AsNoTracking().FirstOrDefaultAsync(a => a.RunId == run.Id && a.Path == path, ct);
            if (exact is not null)
            {
                return exact;
            }
        }
        var prefix = path is null ? "" : path + "/";
        var files = await db.Set<RunArtifact>().AsNoTracking().Where(a => a.RunId == run.Id && a.Path.StartsWith(prefix)).ToListAsync(ct);
        var models = files.Where(a => a.Path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || a.Path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)).ToList();
        return models.Count switch
        {
            1 => models[0],
            0 when files.Count == 0 => throw TrackingStore.NotFound($"Run '{run.Id}' has no artifact '{path}'."),
            0 => throw TrackingStore.Invalid("source", $"'{path}' of run '{run.Id}' holds no .onnx or .zip model file."),
            _ => throw TrackingStore.Invalid("source", $"'{path}' of run '{run.Id}' holds several model files ({string.Join(", ", models.Select(m => m.Path))}); name one."),
        };
    }
}
