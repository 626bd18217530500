using System.Security.Claims;
using Gureum.WebConsole.Components;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Gureum.WebConsole;

/// <summary>The host's answer to "may this key sign in, and whose is it?": the API's own key authentication, run on the key.</summary>
public interface IConsoleKeyCheck
{
    Task<KeyCheck> CheckAsync(string key, CancellationToken ct);
}

/// <summary><see cref="Problem"/> says why a key was refused, in the API's words; <see cref="ProjectId"/> is null for admin keys.</summary>
public sealed record KeyCheck(bool Valid, string? Problem, string? ProjectId, IReadOnlyList<string> Scopes);

/// <summary>
/// The web console: Blazor components served at <c>/</c> by the platform's own process, which talk to the platform only through
/// its HTTP API with the signed-in user's key. The key lives in an encrypted, HTTP-only, SameSite=Strict cookie that only the
/// console's own endpoints read (the API's Bearer authentication never looks at cookies, so there is no CSRF path into the API).
/// </summary>
public static class ConsoleHosting
{
    public const string Scheme = "GureumConsole";
    public const string Policy = "gureum-console";

    /// <param name="keysDirectory">Where Data Protection keeps the keys that encrypt the cookie (created with mode 0700).</param>
    public static IServiceCollection AddConsole(this IServiceCollection services, string keysDirectory)
    {
        Directory.CreateDirectory(keysDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keysDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        services.AddDataProtection().SetApplicationName("Gureum").PersistKeysToFileSystem(new DirectoryInfo(keysDirectory));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "gureum_console_csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        // A second scheme beside the API's: only the console's endpoints name it, the API's policies name only theirs.
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ConsoleAuthentication>(Scheme, null);
        services.AddAuthorization(o => o.AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAssertion(_ => true)));
        services.AddSingleton<ConsoleCookie>();
        services.AddSingleton<ConsoleApi>();
        services.AddScoped<ConsoleSession>();
        return services;
    }

    public static WebApplication MapConsole(this WebApplication app)
    {
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        // The policy lets everyone in and only reads the cookie: the page shell loads for anyone, the circuit (the Blazor hub
        // is mapped by this builder too) starts with the cookie's key checked again, and pages send signed-out users to /sign-in.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization(Policy);
        // Same policy as the pages: the antiforgery token is bound to the user the page was rendered for, so the form's
        // target must see the same user.
        app.MapPost("/console/sign-in", SignInAsync).RequireAuthorization(Policy).ExcludeFromDescription();
        app.MapPost("/console/sign-out", SignOutAsync).RequireAuthorization(Policy).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, IConsoleKeyCheck check, ConsoleCookie cookie)
    {
        if (!await antiforgery.IsRequestValidAsync(http) || !http.Request.HasFormContentType)
        {
            return TypedResults.BadRequest("The sign-in form expired. Reload the page and sign in again.");
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var key = form["key"].ToString().Trim();
        var returnUrl = LocalPath(form["returnUrl"].ToString());
        var result = key.Length == 0
            ? new KeyCheck(false, "Enter an API key (it looks like gur_<id>_<secret>).", null, [])
            : await check.CheckAsync(key, http.RequestAborted);
        if (!result.Valid)
        {
            cookie.Delete(http);
            cookie.Flash(http, result.Problem ?? "The API key is not valid.");
            return TypedResults.Redirect("/sign-in" + (returnUrl == "/" ? "" : "?returnUrl=" + Uri.EscapeDataString(returnUrl)));
        }
        cookie.Write(http, key);
        return TypedResults.Redirect(returnUrl);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery, ConsoleCookie cookie)
    {
        // A cookie whose key no longer works signs nobody in: forgetting it needs no token. A working one needs the form's.
        if (http.User.Identity?.IsAuthenticated == true && !await antiforgery.IsRequestValidAsync(http))
        {
            return TypedResults.BadRequest("The sign-out form expired. Reload the page and try again.");
        }
        cookie.Delete(http);
        return TypedResults.Redirect("/sign-in?signedOut=true");
    }

    /// <summary>Only a path on this site: an open redirect would hand a freshly signed-in user to anyone's page.</summary>
    internal static string LocalPath(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url : "/";
}

internal static class ConsoleClaims
{
    public const string Key = "gureum:key";
    public const string Project = "gureum:project";
    public const string Scope = "gureum:scope";

    public static ClaimsPrincipal Principal(string key, KeyCheck check)
    {
        var identity = new ClaimsIdentity(ConsoleHosting.Scheme);
        identity.AddClaim(new Claim(Key, key));
        if (check.ProjectId is not null)
        {
            identity.AddClaim(new Claim(Project, check.ProjectId));
        }
        foreach (var scope in check.Scopes)
        {
            identity.AddClaim(new Claim(Scope, scope));
        }
        return new ClaimsPrincipal(identity);
    }
}
