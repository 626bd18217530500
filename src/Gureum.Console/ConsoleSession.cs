using Gureum.Client;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;

namespace Gureum.WebConsole;

/// <summary>An API answer: the value, or the problem the API gave (already shown to the user).</summary>
internal readonly record struct ApiResult<T>(T? Value, GureumApiException? Problem)
{
    public bool Ok => Problem is null && Value is not null;

    /// <summary>The API's message for <paramref name="field"/> (a problem+json <c>errors</c> entry), or null.</summary>
    public string? FieldError(string field) =>
        Problem?.Errors.FirstOrDefault(e => string.Equals(e.Key, field, StringComparison.OrdinalIgnoreCase)).Value is { Length: > 0 } messages
            ? string.Join(" ", messages) : null;
}

/// <summary>
/// One circuit's view of the signed-in user: the key's client, project and scopes, read from the principal that the
/// console's authentication built when the circuit started. Every call goes through <see cref="CallAsync"/>, which shows the
/// API's problem (title and detail) in a snackbar, and on a 401 (the key was revoked or expired) sends the user to sign in.
/// </summary>
internal sealed class ConsoleSession(AuthenticationStateProvider authentication, ConsoleApi api, NavigationManager navigation, ISnackbar snackbar)
{
    private GureumClient? _client;

    public string? KeyProjectId { get; private set; }
    public IReadOnlyList<string> Scopes { get; private set; } = [];
    public bool IsAdmin => Scopes.Contains("admin");
    public bool CanWrite => IsAdmin || Scopes.Contains("project:write");

    /// <summary>The client with this user's key; only after <see cref="StartAsync"/> returned true.</summary>
    public GureumClient Api => _client ?? throw new InvalidOperationException("The session has not started.");

    /// <summary>False (and on the way to the sign-in page) when the circuit has no valid key.</summary>
    public async Task<bool> StartAsync()
    {
        if (_client is not null)
        {
            return true;
        }
        var user = (await authentication.GetAuthenticationStateAsync()).User;
        if (user.FindFirst(ConsoleClaims.Key)?.Value is not { } key)
        {
            SignInAgain(expired: false);
            return false;
        }
        KeyProjectId = user.FindFirst(ConsoleClaims.Project)?.Value;
        Scopes = [.. user.FindAll(ConsoleClaims.Scope).Select(c => c.Value)];
        _client = api.ClientFor(key);
        return true;
    }

    public void SignInAgain(bool expired)
    {
        var here = "/" + navigation.ToBaseRelativePath(navigation.Uri);
        var query = (expired ? "expired=true&" : "") + "returnUrl=" + Uri.EscapeDataString(here);
        navigation.NavigateTo("/sign-in?" + query, forceLoad: true);
    }

    /// <summary>Runs <paramref name="call"/>; a problem is shown (and returned so a form can mark its field), never thrown.</summary>
    public async Task<ApiResult<T>> CallAsync<T>(Func<GureumClient, Task<T>> call, bool quiet = false)
    {
        if (_client is null && !await StartAsync())
        {
            return new ApiResult<T>(default, new GureumApiException(401, null, "Unauthorized", "Sign in first.", new Dictionary<string, string[]>(), null));
        }
        try
        {
            return new ApiResult<T>(await call(_client!), null);
        }
        catch (GureumApiException e)
        {
            if (e.Status == 401)
            {
                SignInAgain(expired: true);
            }
            else if (!quiet)
            {
                snackbar.Add(Describe(e), Severity.Error, o => o.VisibleStateDuration = 10_000);
            }
            return new ApiResult<T>(default, e);
        }
        catch (HttpRequestException e)
        {
            var problem = new GureumApiException(503, null, "API unreachable", "The console could not reach Gureum's API: " + e.Message, new Dictionary<string, string[]>(), null);
            snackbar.Add(Describe(problem), Severity.Error);
            return new ApiResult<T>(default, problem);
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            var problem = new GureumApiException(504, null, "Timed out", "The API did not answer in time; try again.", new Dictionary<string, string[]>(), null);
            snackbar.Add(Describe(problem), Severity.Error);
            return new ApiResult<T>(default, problem);
        }
    }

    public Task<ApiResult<bool>> CallAsync(Func<GureumClient, Task> call, bool quiet = false) =>
        CallAsync(async c => { await call(c); return true; }, quiet);

    public void Success(string message) => snackbar.Add(message, Severity.Success);

    public static string Describe(GureumApiException e) => e.Detail is { Length: > 0 } detail ? $"{e.Title}: {detail}" : $"{e.Title} (HTTP {e.Status})";
}
