using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gureum.WebConsole;

/// <summary>
/// Reads the console cookie and checks its key with the API's own key check on every page load and every circuit start,
/// so a revoked or expired key stops working in the console at once. Only the console's endpoints use this scheme.
/// </summary>
internal sealed class ConsoleAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ConsoleCookie cookie, IConsoleKeyCheck check)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = cookie.Read(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }
        var result = await check.CheckAsync(key, Context.RequestAborted);
        return result.Valid
            ? AuthenticateResult.Success(new AuthenticationTicket(ConsoleClaims.Principal(key, result), Scheme.Name))
            : AuthenticateResult.Fail(result.Problem ?? "The API key is no longer valid.");
    }
}
