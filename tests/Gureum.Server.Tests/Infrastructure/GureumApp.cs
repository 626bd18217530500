using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Gureum.Server.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Gureum.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a real Kestrel port with its own data directory, Orleans ports and database. The database lane
/// comes from GUREUM_TEST_POSTGRES (a server connection string: each app gets a fresh database on it); without it, SQLite.
/// `./gureum test` runs the suite once per lane.
/// </summary>
public class GureumApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public static readonly string AdminKey = "gur_testadmin234_" + new string('A', 43);
    private readonly Dictionary<string, string?> _settings;

    public GureumApp() : this(new Dictionary<string, string?>()) { }

    protected GureumApp(IDictionary<string, string?> settings)
    {
        DataDirectory = Directory.CreateTempSubdirectory("gureum-test-").FullName;
        Database = TestDatabase.Create();
        _settings = new Dictionary<string, string?>
        {
            ["Gureum:DataDirectory"] = DataDirectory,
            ["Gureum:Database"] = Database,
            ["Gureum:SiloPort"] = FreePort().ToString(),
            ["Gureum:GatewayPort"] = FreePort().ToString(),
            ["Gureum:BootstrapKey"] = AdminKey,
            ["Gureum:ShutdownTimeout"] = "00:00:05",
        };
        foreach (var (k, v) in settings)
        {
            _settings[k] = v;
        }
        UseKestrel(0);
    }

    public string DataDirectory { get; }
    public string? Database { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (k, v) in _settings)
        {
            builder.UseSetting(k, v);
        }
    }

    public ValueTask InitializeAsync()
    {
        StartServer();
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabase.Drop(Database);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // a file still held open by a background thread; the OS temp cleaner takes it
        }
    }

    /// <summary>A client with the given key (or none).</summary>
    public HttpClient Client(string? key = null)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    public HttpClient Admin() => Client(AdminKey);

    /// <summary>A new project with a unique name; returns its id.</summary>
    public async Task<string> CreateProjectAsync(string? name = null)
    {
        name ??= "p-" + Ids.New()[^10..];
        using var response = await Admin().PostAsJsonAsync("/v1/projects", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>A key of the project with the given scopes; returns (key id, full key).</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(string projectId, params string[] scopes)
    {
        using var response = await Admin().PostAsJsonAsync($"/v1/projects/{projectId}/keys", new { name = "k-" + Ids.New()[^8..], scopes });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("key").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Fresh databases for the PostgreSQL lane.</summary>
public static class TestDatabase
{
    public static string? Server => Environment.GetEnvironmentVariable("GUREUM_TEST_POSTGRES");

    public static bool IsPostgres => !string.IsNullOrEmpty(Server);

    public static string? Create()
    {
        if (!IsPostgres)
        {
            return null;
        }
        var name = "gureum_test_" + Ids.New()[^12..];
        using (var connection = new NpgsqlConnection(Server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            command.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(Server) { Database = name }.ToString();
    }

    public static void Drop(string? connectionString)
    {
        if (connectionString is null)
        {
            return;
        }
        NpgsqlConnection.ClearAllPools();
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        using var connection = new NpgsqlConnection(Server);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }
}
