using System.Text.Json.Serialization;
using Gureum.ML.Models;
using Gureum.ML.Serving;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gureum.Server.Features.Serving;

public sealed record V2Tensor(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("datatype")] string Datatype,
    [property: JsonPropertyName("shape")] IReadOnlyList<long> Shape);

public sealed record V2ModelMetadata(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("versions")] IReadOnlyList<string> Versions,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("inputs")] IReadOnlyList<V2Tensor> Inputs,
    [property: JsonPropertyName("outputs")] IReadOnlyList<V2Tensor> Outputs);

public sealed record V2ServerMetadata(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("extensions")] IReadOnlyList<string> Extensions);

/// <summary>
/// The Open Inference Protocol (KServe V2) over REST, so KServe and Triton clients can call Gureum: a model here is an
/// endpoint, its versions the registered versions it serves. The API key's project is the namespace (an admin key names
/// the project in <c>X-Gureum-Project</c>). Errors use the protocol's shape, <c>{"error": "..."}</c>.
/// </summary>
public static class OpenInferenceEndpoints
{
    public const string ProjectHeader = "X-Gureum-Project";

    public static IEndpointRouteBuilder MapOpenInference(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol (V2)");
        v2.MapGet("/", () => TypedResults.Ok(new V2ServerMetadata("gureum", typeof(OpenInferenceEndpoints).Assembly.GetName().Version?.ToString() ?? "0", ["binary_tensor_data"])))
            .AllowAnonymous().WithSummary("Server metadata");
        v2.MapGet("/health/live", () => TypedResults.Ok(new { live = true })).AllowAnonymous().WithSummary("The server is up");
        v2.MapGet("/health/ready", Ready).AllowAnonymous().WithSummary("The server can serve (database and storage reachable)");
        var models = v2.MapGroup("/models").RequireScope(Scopes.Predict).AddEndpointFilter(EndpointForwarder.Filter);
        models.MapGet("/{name}", (string name, HttpContext http, Predictor predictor, CancellationToken ct) => Metadata(name, null, http, predictor, ct))
            .WithSummary("A model (endpoint): versions, platform, input and output tensors");
        models.MapGet("/{name}/versions/{version}", (string name, string version, HttpContext http, Predictor predictor, CancellationToken ct) => Metadata(name, version, http, predictor, ct))
            .WithSummary("One served version's metadata");
        models.MapGet("/{name}/ready", (string name, HttpContext http, Predictor predictor, CancellationToken ct) => ModelReady(name, null, http, predictor, ct))
            .WithSummary("200 when the model can answer");
        models.MapGet("/{name}/versions/{version}/ready", (string name, string version, HttpContext http, Predictor predictor, CancellationToken ct) => ModelReady(name, version, http, predictor, ct))
            .WithSummary("200 when this version can answer");
        models.MapPost("/{name}/infer", (string name, HttpContext http, Predictor predictor, CancellationToken ct) => Infer(name, null, http, predictor, ct))
            .Accepts<object>("application/json", "application/octet-stream").Produces(200, contentType: "application/json")
            .WithSummary("Inference with the protocol's JSON tensors, or binary tensor data after the JSON (Inference-Header-Content-Length); traffic split applies");
        models.MapPost("/{name}/versions/{version}/infer", (string name, string version, HttpContext http, Predictor predictor, CancellationToken ct) => Infer(name, version, http, predictor, ct))
            .Accepts<object>("application/json", "application/octet-stream").Produces(200, contentType: "application/json").WithSummary("Inference on one served version");
        return app;
    }

    public static bool Applies(HttpContext http) => http.Request.Path.StartsWithSegments("/v2", StringComparison.Ordinal);

    /// <summary>The protocol's error shape; the status stays what Gureum's problem would have had.</summary>
    public static Task WriteErrorAsync(HttpContext http, ProblemCode code, string detail)
    {
        http.Response.StatusCode = ProblemCodes.Describe(code).Status;
        return http.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = detail });
    }

    private static async Task<IResult> Ready(HealthCheckService health, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains("ready"), ct);
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(new { ready = true })
            : TypedResults.Json(new { ready = false }, statusCode: 503);
    }

    /// <summary>The project the caller's key belongs to; an admin key must name one in <see cref="ProjectHeader"/>.</summary>
    private static async Task<Project> ProjectOfAsync(HttpContext http)
    {
        var caller = Caller.From(http.User);
        var reference = caller.ProjectId ?? (http.Request.Headers[ProjectHeader].ToString() is { Length: > 0 } named ? named
            : throw GureumException.Invalid(ProjectHeader, $"This key is not bound to a project; name the project in the '{ProjectHeader}' header."));
        var project = await http.RequestServices.GetRequiredService<AuthCache>().FindProjectAsync(reference);
        if (project is null || (!caller.IsAdmin && caller.ProjectId != project.Id)) throw ProjectScope.NotFound(reference);
        return project;
    }

    private static int? VersionNumber(string? version) =>
        version is null ? null
        : int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n
        : throw GureumException.Invalid("version", $"'{version}' is not a version number.");

    private static async Task<IResult> Metadata(string name, string? version, HttpContext http, Predictor predictor, CancellationToken ct)
    {
        var project = await ProjectOfAsync(http);
        var (_, routes) = await predictor.FindAsync(project.Id, name, ct);
        var number = VersionNumber(version);
        var served = number is { } n
            ? routes.All.FirstOrDefault(r => r.Version.Version == n)?.Version
              ?? throw new GureumException(ProblemCode.NotFound, $"Model '{name}' does not serve version {n}.")
            : routes.Live[0].Version;
        var signature = served.Onnx is { } onnx ? (onnx.Inputs, onnx.Outputs) : (served.Signature.Inputs, AutoMlOutputs(served));
        return TypedResults.Ok(new V2ModelMetadata(name, [.. routes.All.Select(r => r.Version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)).Distinct()],
            served.Onnx is null ? "mlnet_automl" : "onnxruntime_onnx", [.. signature.Item1.Select(Describe)], [.. signature.Item2.Select(Describe)]));
    }

    private static IReadOnlyList<ModelField> AutoMlOutputs(ServedVersion served) => served.AutoMl!.Task switch
    {
        ML.Training.TrainingTask.Binary => [new("label", "string", [-1]), new("probability", "float64", [-1])],
        ML.Training.TrainingTask.Multiclass => [new("label", "string", [-1]), new("classes", "string", [-1]), new("probabilities", "float64", [-1, -1])],
        _ => [new("score", "float64", [-1])],
    };

    private static V2Tensor Describe(ModelField f)
    {
        // AutoML columns are one tensor each: numbers as FP64, everything else as BYTES.
        var datatype = TensorTypes.TryFromOnnx(f.Type, out var t) ? TensorTypes.V2(t) : f.Type is "float" or "integer" ? "FP64" : f.Type == "boolean" ? "BOOL" : "BYTES";
        return new V2Tensor(f.Name, datatype, f.Shape ?? [-1]);
    }

    private static async Task<IResult> ModelReady(string name, string? version, HttpContext http, Predictor predictor, CancellationToken ct)
    {
        var project = await ProjectOfAsync(http);
        var (_, routes) = await predictor.FindAsync(project.Id, name, ct);
        if (VersionNumber(version) is { } n && routes.All.All(r => r.Version.Version != n))
        {
            throw new GureumException(ProblemCode.NotFound, $"Model '{name}' does not serve version {n}.");
        }
        return TypedResults.Ok(new { name, ready = true });
    }

    private static async Task Infer(string name, string? version, HttpContext http, Predictor predictor, CancellationToken ct)
    {
        var project = await ProjectOfAsync(http);
        var (live, routes) = await predictor.FindAsync(project.Id, name, ct);
        await predictor.HandleAsync(http, live, routes, Protocol.V2, VersionNumber(version), explain: false,
            (w, served, answer, input, requestId) => Predictor.WriteV2(w, served, answer, input, requestId, name), ct);
    }
}
