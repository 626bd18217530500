using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;

namespace Gureum.Server.Infrastructure.Hosting;

/// <summary>
/// Runs before the silo and the web server start (it is registered first): applies migrations, removes temp files
/// of dead writers, and creates the first admin key. Any host of the app — `gureum serve` or a test — goes through it.
/// </summary>
public sealed class StartupTasks(IServiceProvider services, IArtifactStore artifacts, Microsoft.Extensions.Options.IOptions<GureumOptions> options) : IHostedService
{
    /// <summary>The admin key created by this start, to be printed once; null when one already existed.</summary>
    public string? CreatedBootstrapKey { get; private set; }

    /// <summary>True when the created key came from GUREUM_BOOTSTRAP_KEY: the operator knows it, so it is not echoed.</summary>
    public bool BootstrapKeyWasGiven { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        await services.MigrateGureumDatabaseAsync(ct);
        if (services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Cluster.ClusterOptions>>().Value.Enabled)
        {
            await Cluster.ClusterSchema.EnsureAsync(options.Value.Database!, ct);
        }
        RestrictDataFiles(options.Value.FullDataDirectory);
        if (artifacts is LocalArtifactStore local)
        {
            local.RemoveAbandonedTempFiles(TimeSpan.FromHours(1));
        }
        CreatedBootstrapKey = await BootstrapKey.EnsureAsync(services, ct);
        BootstrapKeyWasGiven = CreatedBootstrapKey is not null &&
            !string.IsNullOrEmpty(options.Value.BootstrapKey);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Metadata and keys are for the service user only, whatever the umask of whoever started us.</summary>
    private static void RestrictDataFiles(string dataDirectory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(dataDirectory))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
