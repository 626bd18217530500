using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Gureum.Server.Infrastructure.Problems;

/// <summary>
/// Every error leaves the server as application/problem+json (RFC 9457) with a stable <c>type</c>:
/// expected failures through <see cref="GureumException"/>, framework rejections (bad JSON, size, content type)
/// through their status, and anything else as a 500 that names a trace id but no internals.
/// </summary>
public static class ProblemsSetup
{
    /// <summary>
    /// Static assets served from build output add a GET/HEAD fallback for any path (<c>{**path:file}</c>); routing picks
    /// the method before checking the file exists, so another method on an unknown API path would answer 405 (Allow:
    /// GET, HEAD). No API route allows HEAD, so that pair under an API prefix means: no such route.
    /// </summary>
    private static bool IsStaticFallbackOnly(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "";
        return http.Response.Headers.Allow.ToString() == "GET, HEAD"
            && (path.StartsWith("/v1/", StringComparison.Ordinal) || path.StartsWith("/v2/", StringComparison.Ordinal) || path.StartsWith("/api/", StringComparison.Ordinal));
    }

    public static IServiceCollection AddGureumProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var problem = ctx.ProblemDetails;
            var status = problem.Status ?? ctx.HttpContext.Response.StatusCode;
            if (status == 405 && IsStaticFallbackOnly(ctx.HttpContext))
            {
                // No API route has this path: the only route that matched is the console's static-file fallback.
                ctx.HttpContext.Response.StatusCode = status = 404;
                ctx.HttpContext.Response.Headers.Remove("Allow");
                problem.Status = 404;
                problem.Type = null;
                problem.Title = null;
            }
            problem.Status = status;
            var (_, type, title) = ProblemCodes.Describe(ProblemCodes.FromStatus(status));
            if (string.IsNullOrEmpty(problem.Type) || problem.Type.StartsWith("https://tools.ietf.org", StringComparison.Ordinal))
            {
                problem.Type = ProblemCodes.TypePrefix + (problem is HttpValidationProblemDetails ? "validation" : type);
                problem.Title = problem is HttpValidationProblemDetails ? "The request has invalid fields" : title;
            }
            if (string.IsNullOrEmpty(problem.Detail))
            {
                problem.Detail = problem is HttpValidationProblemDetails v
                    ? "Fix the fields listed in 'errors': " + string.Join(", ", v.Errors.Keys) + "."
                    : ProblemCodes.DefaultDetail(status);
            }
            problem.Instance ??= ctx.HttpContext.Request.Path;
            problem.Extensions["traceId"] = ctx.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<GureumExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    public static Task WriteProblemAsync(HttpContext http, ProblemCode code, string detail, IDictionary<string, string[]>? errors = null, string? mlflowCode = null,
        IReadOnlyDictionary<string, object?>? extensions = null, int? retryAfterSeconds = null)
    {
        // Shed load and not-yet-ready answers say when to come back (the exception handler cleared any earlier header).
        if (retryAfterSeconds is { } seconds)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, seconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (code is ProblemCode.TooManyRequests or ProblemCode.NotReady or ProblemCode.RateLimited && !http.Response.Headers.ContainsKey("Retry-After"))
        {
            http.Response.Headers.RetryAfter = "1";
        }
        if (Features.Mlflow.MlflowErrors.Applies(http))
        {
            return Features.Mlflow.MlflowErrors.WriteAsync(http, code, detail, mlflowCode);
        }
        if (Features.Serving.OpenInferenceEndpoints.Applies(http))
        {
            return Features.Serving.OpenInferenceEndpoints.WriteErrorAsync(http, code, detail);
        }
        var (status, type, title) = ProblemCodes.Describe(code);
        ProblemDetails problem = errors is null ? new ProblemDetails() : new HttpValidationProblemDetails(errors);
        problem.Status = status;
        problem.Type = ProblemCodes.TypePrefix + type;
        problem.Title = title;
        problem.Detail = detail;
        foreach (var (name, value) in extensions ?? new Dictionary<string, object?>()) problem.Extensions[name] = value;
        http.Response.StatusCode = status;
        var service = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        return service.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }).AsTask();
    }
}

internal sealed partial class GureumExceptionHandler(ILogger<GureumExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (http.Response.HasStarted)
        {
            return false;
        }
        var (code, detail, errors) = Classify(exception);
        var gureum = exception as GureumException;
        if (code == ProblemCode.Internal)
        {
            LogUnexpected(logger, http.Request.Method, http.Request.Path, exception);
        }
        http.Features.Get<IHttpResponseFeature>()?.Headers.Remove("Content-Type");
        await ProblemsSetup.WriteProblemAsync(http, code, detail, errors, gureum?.MlflowCode, gureum?.Extensions, gureum?.RetryAfterSeconds);
        return true;
    }

    private static (ProblemCode, string, IDictionary<string, string[]>?) Classify(Exception exception) => exception switch
    {
        GureumException g => (g.Code, g.Message, g.Errors),
        Gureum.AI.AiInputException a => (a.Status switch
        {
            413 => ProblemCode.PayloadTooLarge,
            415 => ProblemCode.UnsupportedMediaType,
            422 => ProblemCode.Unprocessable,
            _ => ProblemCode.Validation,
        }, a.Message, new Dictionary<string, string[]> { [a.Field] = [a.Message] }),
        Gureum.AI.EngineUnavailableException e => (ProblemCode.EngineUnavailable,
            $"{e.Message} Install the Debian packages '{e.Packages}' (./gureum serve installs them) and restart.", null),
        BadHttpRequestException { StatusCode: 413 } =>
            (ProblemCode.PayloadTooLarge, ProblemCodes.DefaultDetail(413), null),
        BadHttpRequestException { StatusCode: 415 } b =>
            (ProblemCode.UnsupportedMediaType, b.Message + " Send 'Content-Type: application/json'.", null),
        BadHttpRequestException { InnerException: JsonException j } =>
            (ProblemCode.MalformedRequest, "The JSON body is malformed: " + j.Message, null),
        BadHttpRequestException b => (ProblemCodes.FromStatus(b.StatusCode), b.Message, null),
        JsonException j => (ProblemCode.MalformedRequest, "The JSON body is malformed: " + j.Message, null),
        OperationCanceledException => (ProblemCode.NotReady, "The request was cancelled because the server is shutting down or the client left.", null),
        _ => (ProblemCode.Internal, "An unexpected error occurred. Quote the traceId when reporting it.", null),
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, string method, string path, Exception exception);
}
