using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gureum.Server.Infrastructure.Hosting;

internal static class HealthReport
{
    /// <summary>Readiness as JSON: overall status and each check with its description.</summary>
    public static Task WriteAsync(HttpContext http, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        http.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString().ToLowerInvariant(),
                description = e.Value.Description,
            }),
        };
        return http.Response.WriteAsync(JsonSerializer.Serialize(body, JsonDefaults.Web));
    }
}
