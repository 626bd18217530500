namespace Gureum.Server.Infrastructure;

/// <summary>Settings under the <c>Gureum</c> configuration section (also <c>GUREUM_*</c> variables and flags).</summary>
public sealed class GureumOptions
{
    public const string Section = "Gureum";

    /// <summary>Where SQLite metadata, artifacts and the bootstrap key live.</summary>
    public string DataDirectory { get; set; } = ".gureum-data";

    /// <summary>Empty: SQLite under the data directory. Otherwise a Npgsql connection string (PostgreSQL).</summary>
    public string? Database { get; set; }

    /// <summary>Largest request body accepted by default; uploads of later capabilities raise it per route.</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest dataset upload (a route-specific raise of <see cref="MaxRequestBodyBytes"/>).</summary>
    public long MaxUploadBytes { get; set; } = 5L * 1024 * 1024 * 1024;

    /// <summary>Columns, line length, rows, errors reported and gzip ratio for dataset reads (<c>Gureum:DatasetLimits:MaxColumns</c>, ...).</summary>
    public Gureum.ML.Data.DataLimits DatasetLimits { get; set; } = new();

    /// <summary>
    /// Runs the dataset reader over generated rows once after start (about 2 s of one core, in the background), so the
    /// first upload runs optimised code; off where start-up CPU matters more (<c>Gureum:WarmUpDatasetReader</c>).
    /// </summary>
    public bool WarmUpDatasetReader { get; set; } = true;

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Value of the first admin key, when set on the very first start.</summary>
    public string? BootstrapKey { get; set; }

    /// <summary>How often a job may be started before it is failed (restarts and crashes count).</summary>
    public int JobMaxAttempts { get; set; } = 3;

    /// <summary>How long in-flight requests and jobs get to finish on SIGTERM.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Where model, dataset and run files live; nodes of one cluster share it (<c>--artifacts</c>). Default: <c>&lt;data&gt;/artifacts</c>.</summary>
    public string? ArtifactsDirectory { get; set; }

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);

    public string FullArtifactsDirectory => Path.GetFullPath(ArtifactsDirectory ?? Path.Combine(FullDataDirectory, "artifacts"));
}
