using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Gureum.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace Gureum.WebConsole.Tests.Infrastructure;

/// <summary>
/// The real server on a real Kestrel port (SQLite in a temp directory, a known admin key) and one headless Debian Chromium,
/// shared by every test of the assembly. Each test gets its own browser context (its own cookies) through <see cref="NewPageAsync"/>.
/// </summary>
public sealed class ConsoleApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public static readonly string AdminKey = "gur_consoleadmin_" + new string('C', 43);

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public ConsoleApp()
    {
        DataDirectory = Directory.CreateTempSubdirectory("gureum-console-test-").FullName;
        UseKestrel(0);
    }

    public string DataDirectory { get; }

    /// <summary>The server's address, e.g. http://127.0.0.1:41234.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    /// <summary>Screenshots land here: $GUREUM_TEST_ARTIFACTS, or artifacts/ beside the test binary.</summary>
    public static string Artifacts { get; } = Environment.GetEnvironmentVariable("GUREUM_TEST_ARTIFACTS") is { Length: > 0 } dir
        ? dir : Path.Combine(AppContext.BaseDirectory, "artifacts");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Gureum:DataDirectory", DataDirectory);
        builder.UseSetting("Gureum:SiloPort", FreePort().ToString());
        builder.UseSetting("Gureum:GatewayPort", FreePort().ToString());
        builder.UseSetting("Gureum:BootstrapKey", AdminKey);
        builder.UseSetting("Gureum:ShutdownTimeout", "00:00:05");
        builder.UseSetting("Gureum:Serving:RefreshInterval", "00:00:00.200");
        builder.UseSetting("Gureum:Serving:UsageFlushInterval", "00:00:00.500");
        builder.UseSetting("Gureum:Automation:SweepSeconds", "3600");
    }

    public async ValueTask InitializeAsync()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.Replace("://[::]", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1"));
        Directory.CreateDirectory(Artifacts);
        _playwright = await Playwright.CreateAsync();
        // Debian's chromium, never a downloaded browser; the flags keep it off the network this machine does not have.
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public override async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        await base.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a background thread; the OS temp cleaner takes it
        }
    }

    /// <summary>The typed client with <paramref name="key"/> (admin by default), for setting things up through the API.</summary>
    public GureumClient Api(string? key = null)
    {
        var http = CreateClient();
        http.Timeout = TimeSpan.FromMinutes(5);
        return new GureumClient(http, key ?? AdminKey);
    }

    public HttpClient Http(string? key = null)
    {
        var http = CreateClient();
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return http;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
