using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.WebConsole;
using Microsoft.AspNetCore.Authentication;

namespace Gureum.Server.Features.WebConsole;

/// <summary>
/// Hosts the web console (the Gureum.Console project) in this process: its cookie keys live in the data directory and its
/// sign-in checks a key with the API's own authentication handler, so the console and the API can never disagree on a key.
/// </summary>
public static class ConsoleSetup
{
    public static WebApplicationBuilder AddGureumConsole(this WebApplicationBuilder builder)
    {
        // The console's CSS and scripts are static web assets; outside Development they are found only through this manifest
        // (when running from the build output; a published app has them in wwwroot and the call does nothing).
        builder.WebHost.UseStaticWebAssets();
        var options = builder.Configuration.GetSection(GureumOptions.Section).Get<GureumOptions>() ?? new GureumOptions();
        builder.Services.AddConsole(Path.Combine(options.FullDataDirectory, "console-keys"));
        builder.Services.AddSingleton<IConsoleKeyCheck, ApiKeyCheck>();
        return builder;
    }

    public static WebApplication MapGureumConsole(this WebApplication app) => app.MapConsole();
}

/// <summary>Runs the API's key authentication (<see cref="ApiKeyAuthentication"/>) on a key, outside any API request.</summary>
internal sealed class ApiKeyCheck(IServiceScopeFactory scopes) : IConsoleKeyCheck
{
    public async Task<KeyCheck> CheckAsync(string key, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider, RequestAborted = ct };
        http.Request.Headers.Authorization = "Bearer " + key;
        var result = await http.AuthenticateAsync(ApiKeyAuthentication.SchemeName);
        if (result.Succeeded && result.Principal is { } principal)
        {
            var caller = Caller.From(principal);
            return new KeyCheck(true, null, caller.ProjectId, caller.Scopes);
        }
        return new KeyCheck(false, result.Failure?.Message ?? "The API key is not valid.", null, []);
    }
}
