using System.Text.Json;

namespace Gureum.Client;

/// <summary>One page of a list; pass <see cref="Next"/> back as the cursor to get the following page (null: last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

public sealed record Project(string Id, string Name, string? Description, DateTimeOffset CreatedAt);

/// <summary>An API key as listed: never its secret. <see cref="Status"/> is active, expired or revoked.</summary>
public sealed record ApiKey(
    string Id, string PublicId, string? ProjectId, string Name, IReadOnlyList<string> Scopes, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt);

/// <summary>The answer to a key creation: <see cref="Secret"/> is the full key, returned this once only.</summary>
public sealed record CreatedApiKey(ApiKey Key, string Secret);

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public sealed record Job(
    string Id, string ProjectId, string Kind, JobStatus Status, double Percent, string? Message,
    JsonElement? Input, JsonElement? Result, string? Error, int Attempts, bool CancelRequested, string? Node,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public bool IsTerminal => Status.IsTerminal();
}

/// <summary>
/// One Server-Sent Event of a job: <see cref="Type"/> is <c>status</c>, <c>progress</c> or <c>log</c>;
/// the typed fields are those the event carries (null otherwise), <see cref="Data"/> is its whole JSON payload.
/// </summary>
public sealed record JobEvent(
    string Type, string? Id, JobStatus? Status, double? Percent, string? Message, string? Error, JsonElement Data)
{
    /// <summary>A status event for succeeded, failed or cancelled: the stream ends after it.</summary>
    public bool IsTerminal => Type == "status" && Status is { } s && s.IsTerminal();
}

public sealed record HealthCheck(string Status, string? Description);

/// <summary><c>GET /health/ready</c>: overall status (healthy, degraded, unhealthy) and each check.</summary>
public sealed record HealthReport(string Status, IReadOnlyDictionary<string, HealthCheck> Checks)
{
    public bool IsHealthy => Status == "healthy";
}

public static class JobStatusExtensions
{
    public static bool IsTerminal(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}
