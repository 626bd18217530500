using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace Gureum.WebConsole;

/// <summary>
/// The signed-in key, encrypted and authenticated with Data Protection (keys in the data directory, so a restart keeps
/// people signed in), in a session cookie that scripts cannot read (HttpOnly), that no other site's request carries
/// (SameSite=Strict), sent only over TLS when the console is served over TLS, and refused after <see cref="Lifetime"/>.
/// </summary>
internal sealed class ConsoleCookie(IDataProtectionProvider provider)
{
    public const string Name = "gureum_console";
    private const string FlashName = "gureum_console_message";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector _protector = provider.CreateProtector("Gureum.Console.ApiKey.v1").ToTimeLimitedDataProtector();
    private readonly IDataProtector _flash = provider.CreateProtector("Gureum.Console.Message.v1");

    public string? Read(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(Name, out var value) || value.Length == 0)
        {
            return null;
        }
        try
        {
            return _protector.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null; // expired, tampered with, or written with keys that are gone
        }
    }

    public void Write(HttpContext http, string key) => http.Response.Cookies.Append(Name, _protector.Protect(key, Lifetime), Options(http, "/"));

    public void Delete(HttpContext http) => http.Response.Cookies.Delete(Name, Options(http, "/"));

    /// <summary>A message for the next sign-in page (why the key was refused), protected so no one else can put words there.</summary>
    public void Flash(HttpContext http, string message) =>
        http.Response.Cookies.Append(FlashName, _flash.Protect(message), Options(http, "/sign-in"));

    public string? TakeFlash(HttpContext http)
    {
        if (!http.Request.Cookies.TryGetValue(FlashName, out var value))
        {
            return null;
        }
        if (!http.Response.HasStarted)
        {
            http.Response.Cookies.Delete(FlashName, Options(http, "/sign-in"));
        }
        try
        {
            return _flash.Unprotect(value);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static CookieOptions Options(HttpContext http, string path) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = path,
        IsEssential = true,
    };
}
