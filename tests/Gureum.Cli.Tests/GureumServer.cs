using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gureum.Cli;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

[assembly: AssemblyFixture(typeof(Gureum.Cli.Tests.GureumServer))]

namespace Gureum.Cli.Tests;

/// <summary>What one CLI run printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// One real Gureum server per test run, in process (WebApplicationFactory), with its own data directory, free Orleans
/// ports and a known bootstrap admin key. Tests share it and stay independent by working in projects of their own.
/// </summary>
public sealed class GureumServer : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("gureum-cli-tests-").FullName;
    private WebApplicationFactory<Program>? _factory;

    public string AdminKey { get; } = NewKey();

    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web
            .UseSetting("Gureum:DataDirectory", _dataDirectory)
            .UseSetting("Gureum:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Gureum:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Gureum:BootstrapKey", AdminKey)
            .UseSetting("Logging:LogLevel:Default", "Warning")
            .UseSetting("Logging:LogLevel:Microsoft.Hosting.Lifetime", "Warning"));
        // Program's RunGureumAsync migrates and creates the admin key before the host starts; doing it here as well makes
        // the fixture independent of that (both calls are idempotent).
        var services = _factory.Services;
        await DatabaseSetup.MigrateGureumDatabaseAsync(services);
        await BootstrapKey.EnsureAsync(services);
        Http = _factory.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    public string DataDirectory => _dataDirectory;

    /// <summary>Runs the CLI against this server with the admin key.</summary>
    public Task<CliRun> RunAsync(params string[] args) => RunWithKeyAsync(AdminKey, args);

    public Task<CliRun> RunWithKeyAsync(string key, params string[] args) => RunCliAsync(Http, ["--key", key, .. args]);

    /// <summary>Runs the CLI exactly as given; <paramref name="http"/> null lets it make its own HttpClient from --url.</summary>
    public static async Task<CliRun> RunCliAsync(HttpClient? http, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await CliApp.RunAsync(args, http, output, error, TestContext.Current.CancellationToken);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    public static string UniqueName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A port nothing listens on (just released by the OS).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string NewKey()
    {
        const string base32 = "abcdefghijklmnopqrstuvwxyz234567";
        var publicId = new string([.. RandomNumberGenerator.GetBytes(12).Select(b => base32[b & 31])]);
        return $"gur_{publicId}_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
    }
}
