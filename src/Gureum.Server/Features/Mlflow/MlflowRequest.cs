using System.Globalization;
using System.Text.Json;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Mlflow;

/// <summary>
/// The arguments of one MLflow call: the JSON body of a POST/PATCH/DELETE or the query string of a GET, read the way
/// MLflow's protobuf JSON parsing reads them (int64 as number or string). Unknown fields and wrong types are refused
/// with INVALID_PARAMETER_VALUE naming the field, so a typo never passes silently.
/// </summary>
internal sealed class MlflowRequest
{
    private const int MaxBodyBytes = 16 * 1024 * 1024;
    private readonly JsonElement? _body;
    private readonly IQueryCollection _query;

    private MlflowRequest(JsonElement? body, IQueryCollection query)
    {
        _body = body;
        _query = query;
    }

    public static async Task<MlflowRequest> ReadAsync(HttpContext http, params string[] allowed)
    {
        JsonElement? body = null;
        var request = http.Request;
        if (request.ContentLength is > 0 || (request.ContentLength is null && request.Method != HttpMethods.Get && request.Headers.TransferEncoding.Count > 0))
        {
            if (request.ContentLength > MaxBodyBytes)
            {
                throw new GureumException(ProblemCode.PayloadTooLarge, $"MLflow request bodies are limited to {MaxBodyBytes / (1024 * 1024)} MB.");
            }
            var mediaType = request.ContentType?.Split(';')[0].Trim();
            if (mediaType is not null && !mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                throw new GureumException(ProblemCode.UnsupportedMediaType, $"MLflow requests are JSON; this one was '{mediaType}'. Send 'Content-Type: application/json'.",
                    mlflowCode: MlflowCodes.InvalidParameterValue);
            }
            try
            {
                using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: http.RequestAborted);
                body = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw TrackingStore.Invalid("body", "The request body is not valid JSON: " + e.Message);
            }
            if (body.Value.ValueKind != JsonValueKind.Object)
            {
                throw TrackingStore.Invalid("body", "The request body must be a JSON object.");
            }
        }
        var parsed = new MlflowRequest(body, request.Query);
        parsed.RejectUnknown(allowed);
        return parsed;
    }

    private void RejectUnknown(string[] allowed)
    {
        var names = _body is { } b ? b.EnumerateObject().Select(p => p.Name) : _query.Keys;
        foreach (var name in names)
        {
            if (!allowed.Contains(name))
            {
                throw TrackingStore.Invalid(name, $"Unknown field '{name}'. This endpoint accepts: {string.Join(", ", allowed)}.");
            }
        }
    }

    private JsonElement? Field(string name) =>
        _body is { } b && b.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string? String(string name)
    {
        if (Field(name) is { } value)
        {
            return value.ValueKind == JsonValueKind.String ? value.GetString()
                : throw TrackingStore.Invalid(name, $"'{name}' must be a string; it was {Kind(value)}.");
        }
        return _body is null && _query.TryGetValue(name, out var q) ? q.ToString() : null;
    }

    public string RequiredString(string name) => String(name) is { Length: > 0 } value ? value
        : throw TrackingStore.Invalid(name, $"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");

    public long? Long(string name)
    {
        if (Field(name) is { } value)
        {
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n))
            {
                return n;
            }
            if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n))
            {
                return n;
            }
            throw TrackingStore.Invalid(name, $"'{name}' must be an integer; it was {Kind(value)}.");
        }
        if (_body is null && _query.TryGetValue(name, out var q))
        {
            return long.TryParse(q.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
                : throw TrackingStore.Invalid(name, $"'{name}' must be an integer; it was '{q}'.");
        }
        return null;
    }

    public double RequiredDouble(string name) => Field(name) is { } value ? Double(name, value)
        : _body is null && _query.TryGetValue(name, out var q) && double.TryParse(q.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
        : throw TrackingStore.Invalid(name, $"Missing value for required parameter '{name}'.");

    public static double Double(string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        // Protobuf JSON writes non-finite doubles as strings.
        JsonValueKind.String when value.GetString() is "NaN" or "Infinity" or "-Infinity" =>
            double.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => throw TrackingStore.Invalid(name, $"'{name}' must be a number; it was {Kind(value)}."),
    };

    public int MaxResults(int defaultValue, int limit)
    {
        var value = Long("max_results") ?? defaultValue;
        return value is >= 1 && value <= limit ? (int)value
            : throw TrackingStore.Invalid("max_results", $"Invalid value {value} for parameter 'max_results' supplied. It must be between 1 and {limit}.");
    }

    public List<string> Strings(string name)
    {
        if (Field(name) is { } value)
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw TrackingStore.Invalid(name, $"'{name}' must be a list of strings; it was {Kind(value)}.");
            }
            return [.. value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
                : throw TrackingStore.Invalid(name, $"'{name}' must hold strings only."))];
        }
        return _body is null && _query.TryGetValue(name, out var q) ? [.. q.Where(s => s is not null).Select(s => s!)] : [];
    }

    public List<KeyValue> Tags(string name = "tags") => [.. Objects(name).Select(t => KeyValueOf(name, t))];

    public List<JsonElement> Objects(string name)
    {
        if (Field(name) is not { } value)
        {
            return [];
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object))
        {
            throw TrackingStore.Invalid(name, $"'{name}' must be a list of objects.");
        }
        return [.. value.EnumerateArray()];
    }

    public static KeyValue KeyValueOf(string field, JsonElement item)
    {
        string? key = null, value = null;
        foreach (var p in item.EnumerateObject())
        {
            var text = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Null => null,
                _ => throw TrackingStore.Invalid(field, $"'{field}.{p.Name}' must be a string; it was {Kind(p.Value)}."),
            };
            switch (p.Name)
            {
                case "key": key = text; break;
                case "value": value = text; break;
                default: throw TrackingStore.Invalid(field, $"Unknown field '{field}.{p.Name}'; entries have 'key' and 'value'.");
            }
        }
        return new KeyValue(key is { Length: > 0 } ? key : throw TrackingStore.Invalid(field, $"Every entry of '{field}' needs a 'key'."), value ?? "");
    }

    public static MetricPoint MetricOf(JsonElement item, long now)
    {
        string? key = null;
        double? value = null;
        long? timestamp = null, step = null;
        foreach (var p in item.EnumerateObject())
        {
            switch (p.Name)
            {
                case "key":
                    key = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : throw TrackingStore.Invalid("metrics", "'metrics.key' must be a string.");
                    break;
                case "value":
                    value = Double("metrics.value", p.Value);
                    break;
                case "timestamp":
                    timestamp = Integer("metrics.timestamp", p.Value);
                    break;
                case "step":
                    step = Integer("metrics.step", p.Value);
                    break;
                case "run_id" or "run_uuid" or "dataset_name" or "dataset_digest" or "model_id":
                    break;
                default:
                    throw TrackingStore.Invalid("metrics", $"Unknown field 'metrics.{p.Name}'.");
            }
        }
        return new MetricPoint(
            key ?? throw TrackingStore.Invalid("metrics", "Every metric needs a 'key'."),
            value ?? throw TrackingStore.Invalid("metrics", $"Metric '{key}' needs a 'value'."),
            timestamp ?? now, step ?? 0);
    }

    private static long Integer(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n
        : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n) ? n
        : throw TrackingStore.Invalid(name, $"'{name}' must be an integer; it was {Kind(value)}.");

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{(value.GetString()!.Length > 40 ? value.GetString()![..40] + "…" : value.GetString())}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}

/// <summary>Errors on MLflow routes leave in MLflow's shape (<c>error_code</c>, <c>message</c>), which its clients parse.</summary>
internal static class MlflowErrors
{
    public static bool Applies(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "";
        return path.Contains("/api/2.0/mlflow", StringComparison.Ordinal);
    }

    public static Task WriteAsync(HttpContext http, ProblemCode code, string detail, string? mlflowCode)
    {
        var errorCode = mlflowCode ?? code switch
        {
            ProblemCode.NotFound => MlflowCodes.ResourceDoesNotExist,
            ProblemCode.Unauthenticated => MlflowCodes.Unauthenticated,
            ProblemCode.Forbidden => MlflowCodes.PermissionDenied,
            ProblemCode.Conflict => MlflowCodes.InvalidState,
            ProblemCode.TooManyRequests => MlflowCodes.RequestLimitExceeded,
            ProblemCode.NotReady => MlflowCodes.TemporarilyUnavailable,
            ProblemCode.Internal => MlflowCodes.InternalError,
            _ => MlflowCodes.InvalidParameterValue,
        };
        // Size and media-type refusals keep their HTTP status; the rest use MLflow's status for the code.
        var status = code is ProblemCode.PayloadTooLarge or ProblemCode.UnsupportedMediaType
            ? ProblemCodes.Describe(code).Status
            : MlflowCodes.Status(errorCode);
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error_code"] = errorCode, ["message"] = detail });
    }
}
