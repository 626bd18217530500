namespace Gureum.Server.Infrastructure.Problems;

/// <summary>
/// Stable error codes. Each maps to one HTTP status and one problem <c>type</c> in <see cref="ProblemCodes"/>;
/// clients may rely on the type URI, never on the detail text.
/// </summary>
public enum ProblemCode
{
    Validation,
    MalformedRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    UnreadableData,
    IdempotencyKeyInProgress,
    TooManyRequests,
    NotReady,
    Internal,
    ModelFailed,
    ModelTimeout,
    Unprocessable,
    EngineUnavailable,
    QuotaExceeded,
    RateLimited,
}

/// <summary>An expected failure with a code and a message that tells the caller what to do.</summary>
/// <remarks><paramref name="mlflowCode"/> is the error code the MLflow-compatible routes answer with, when it is not the
/// one the problem code maps to.</remarks>
public sealed class GureumException(ProblemCode code, string detail, IDictionary<string, string[]>? errors = null, string? mlflowCode = null)
    : Exception(detail)
{
    public ProblemCode Code { get; } = code;
    public IDictionary<string, string[]>? Errors { get; } = errors;
    public string? MlflowCode { get; } = mlflowCode;

    /// <summary>Extra members of the problem (e.g. which quota, how much is used, when it resets).</summary>
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }

    /// <summary>Whole seconds for the Retry-After header of a 429 or 503.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static GureumException Invalid(string field, string message) =>
        new(ProblemCode.Validation, message, new Dictionary<string, string[]> { [field] = [message] });
}

public static class ProblemCodes
{
    public const string TypePrefix = "urn:gureum:problem:";

    /// <summary>The one table from error code to status and problem type.</summary>
    public static (int Status, string Type, string Title) Describe(ProblemCode code) => code switch
    {
        ProblemCode.Validation => (400, "validation", "The request has invalid fields"),
        ProblemCode.MalformedRequest => (400, "malformed-request", "The request could not be read"),
        ProblemCode.Unauthenticated => (401, "unauthenticated", "An API key is required"),
        ProblemCode.Forbidden => (403, "forbidden", "The API key lacks a scope for this"),
        ProblemCode.NotFound => (404, "not-found", "Not found"),
        ProblemCode.MethodNotAllowed => (405, "method-not-allowed", "Method not allowed"),
        ProblemCode.Conflict => (409, "conflict", "Conflict"),
        ProblemCode.IdempotencyKeyInProgress => (409, "idempotency-key-in-progress", "A request with this Idempotency-Key is still running"),
        ProblemCode.PayloadTooLarge => (413, "payload-too-large", "The request body is too large"),
        ProblemCode.UnsupportedMediaType => (415, "unsupported-media-type", "Unsupported content type"),
        ProblemCode.IdempotencyKeyReused => (422, "idempotency-key-reused", "The Idempotency-Key was used with a different request"),
        ProblemCode.UnreadableData => (422, "unreadable-data", "The data could not be read"),
        ProblemCode.TooManyRequests => (429, "too-many-requests", "Too many requests"),
        ProblemCode.QuotaExceeded => (429, "quota-exceeded", "A usage quota is used up"),
        ProblemCode.RateLimited => (429, "rate-limited", "The API key's rate limit is reached"),
        ProblemCode.NotReady => (503, "not-ready", "Not ready"),
        ProblemCode.ModelFailed => (500, "model-error", "The model failed on this input"),
        ProblemCode.ModelTimeout => (504, "model-timeout", "The model ran past its time"),
        ProblemCode.Unprocessable => (422, "unprocessable", "The request is well-formed but cannot be processed"),
        ProblemCode.EngineUnavailable => (503, "engine-unavailable", "The engine for this API is not installed"),
        _ => (500, "internal", "Unexpected server error"),
    };

    public static ProblemCode FromStatus(int status) => status switch
    {
        400 => ProblemCode.MalformedRequest,
        401 => ProblemCode.Unauthenticated,
        403 => ProblemCode.Forbidden,
        404 => ProblemCode.NotFound,
        405 => ProblemCode.MethodNotAllowed,
        409 => ProblemCode.Conflict,
        413 => ProblemCode.PayloadTooLarge,
        415 => ProblemCode.UnsupportedMediaType,
        422 => ProblemCode.IdempotencyKeyReused,
        429 => ProblemCode.TooManyRequests,
        503 => ProblemCode.NotReady,
        504 => ProblemCode.ModelTimeout,
        _ => ProblemCode.Internal,
    };

    /// <summary>What to tell a caller who got a bare status with no detail of its own.</summary>
    public static string DefaultDetail(int status) => status switch
    {
        400 => "The request could not be read. Check the JSON syntax and the field types against /openapi/v1.json.",
        401 => "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
        403 => "This API key does not have the scope this route needs. Create a key with a wider scope.",
        404 => "No resource or route exists at this address. The API reference is at /docs.",
        405 => "This route does not accept this HTTP method. The API reference is at /docs.",
        413 => "The request body is larger than the configured limit (Gureum:MaxRequestBodyBytes).",
        415 => "This route does not accept this content type. The types each route accepts are listed at /docs.",
        503 => "The server is starting or shutting down. Retry shortly.",
        _ => "The request failed.",
    };
}
