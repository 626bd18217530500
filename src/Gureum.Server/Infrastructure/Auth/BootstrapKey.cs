using Gureum.Server.Features.Keys;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>
/// On the very first start (no admin key has ever existed) creates the admin key, prints it once and writes it to
/// <c>&lt;data&gt;/bootstrap-key</c> (mode 0600). <c>GUREUM_BOOTSTRAP_KEY</c>, when set then, becomes the key instead.
/// </summary>
public static class BootstrapKey
{
    public const string FileName = "bootstrap-key";

    public static async Task<string?> EnsureAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var options = services.GetRequiredService<IOptions<GureumOptions>>().Value;
        var clock = services.GetRequiredService<TimeProvider>();
        await using var db = services.GetRequiredService<GureumDbFactory>().Create();
        if (await db.ApiKeys.AnyAsync(k => k.ProjectId == null, ct))
        {
            return null;
        }
        string publicId, secret, fullKey;
        if (string.IsNullOrEmpty(options.BootstrapKey))
        {
            (publicId, secret, fullKey) = ApiKeyFormat.Generate();
        }
        else if (ApiKeyFormat.TryParse(options.BootstrapKey, out publicId, out secret))
        {
            fullKey = options.BootstrapKey;
        }
        else
        {
            if (options.BootstrapKey.Length < 16 || options.BootstrapKey.Any(char.IsWhiteSpace))
            {
                throw new InvalidOperationException("GUREUM_BOOTSTRAP_KEY must be at least 16 characters without spaces.");
            }
            (publicId, secret, fullKey) = (ApiKeyFormat.BootstrapPublicId, options.BootstrapKey, options.BootstrapKey);
        }
        db.ApiKeys.Add(new ApiKey
        {
            Id = Ids.New(),
            PublicId = publicId,
            Name = "bootstrap-admin",
            Scopes = Scopes.Admin,
            SecretHash = ApiKeyFormat.Hash(secret),
            CreatedAt = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(ct);

        var path = Path.Combine(options.FullDataDirectory, FileName);
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using (var file = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), fileOptions))
        {
            await file.WriteLineAsync(fullKey);
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return fullKey;
    }
}
