using System.Text.Json;

namespace Gureum.Server.Features.Jobs;

/// <summary>
/// A kind of background work. Capabilities register one per kind (training, retraining, async AI operations).
/// Handlers must be re-entrant: after a crash the same job runs again with the last saved checkpoint, and must
/// not repeat a side effect that the checkpoint says is done.
/// </summary>
public interface IJobHandler
{
    string Kind { get; }

    /// <summary>True when clients may submit this kind directly through POST .../jobs.</summary>
    bool UserSubmittable { get; }

    /// <summary>Checks the input before the job is stored; returns a message naming the bad field, or null.</summary>
    string? Validate(JsonElement? input);

    /// <summary>Does the work; the returned JSON becomes the job's result.</summary>
    Task<JsonElement?> RunAsync(JobContext context, CancellationToken ct);
}

/// <summary>What a running handler sees: its input, its last checkpoint, and ways to report progress.</summary>
public sealed class JobContext(Job job, JobStore store)
{
    private DateTimeOffset _lastProgressWrite = DateTimeOffset.MinValue;

    public string JobId => job.Id;
    public string ProjectId => job.ProjectId;
    public int Attempt => job.Attempts;
    public JsonElement? Input { get; } = job.Input is null ? null : JsonDocument.Parse(job.Input).RootElement.Clone();

    /// <summary>The checkpoint saved by an earlier attempt, or null on a fresh start.</summary>
    public string? Checkpoint => job.Checkpoint;

    /// <summary>Set when the node is shutting down (the job will be requeued), as opposed to a cancel on request.</summary>
    public CancellationToken Stopping { get; init; }

    /// <summary>Progress updates are written at most every 200 ms; checkpoints are always written.</summary>
    public async Task ReportProgressAsync(double percent, string? message = null, string? checkpoint = null)
    {
        var now = store.Now;
        if (checkpoint is null && now - _lastProgressWrite < TimeSpan.FromMilliseconds(200) && percent < 100)
        {
            return;
        }
        _lastProgressWrite = now;
        await store.ReportProgressAsync(job.Id, Math.Clamp(percent, 0, 100), message, checkpoint);
    }

    public Task LogAsync(string message) => store.LogAsync(job.Id, message);
}

public sealed class JobHandlers(IEnumerable<IJobHandler> handlers)
{
    private readonly Dictionary<string, IJobHandler> _byKind = handlers.ToDictionary(h => h.Kind);

    public IJobHandler? Find(string kind) => _byKind.GetValueOrDefault(kind);

    public IEnumerable<string> SubmittableKinds => _byKind.Values.Where(h => h.UserSubmittable).Select(h => h.Kind).Order();
}
