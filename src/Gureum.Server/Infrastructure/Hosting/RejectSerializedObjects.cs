using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Infrastructure.Hosting;

/// <summary>
/// Object-serializer payloads (pickle, Java serialization, .NET BinaryFormatter) execute code when loaded by
/// some tools; no route of ours takes them, so they are refused (415) before any routing or parsing.
/// </summary>
internal sealed class RejectSerializedObjects(RequestDelegate next)
{
    private static readonly string[] Refused = ["pickle", "x-java-serialized-object", "x-ms-binaryformatter", "x-python-serialize", "x-joblib", "x-hdf5"];

    public Task InvokeAsync(HttpContext http)
    {
        var contentType = http.Request.ContentType;
        if (contentType is not null && Refused.Any(r => contentType.Contains(r, StringComparison.OrdinalIgnoreCase)))
        {
            return ProblemsSetup.WriteProblemAsync(http, ProblemCode.UnsupportedMediaType,
                $"Content type '{contentType}' carries serialized objects that can run code when loaded; Gureum never accepts it. Send JSON, or ONNX/ML.NET model files where a route takes models.");
        }
        return next(http);
    }
}
