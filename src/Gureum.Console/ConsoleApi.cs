using Gureum.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;

namespace Gureum.WebConsole;

/// <summary>
/// The console's way into the platform: the platform's own HTTP API on this process's loopback address, through the typed
/// client, with the signed-in user's key. Every scope check, project boundary, quota and metering rule applies exactly as it
/// does for any other client. One HttpClient (one connection pool) serves every circuit; each circuit sends its own key.
/// </summary>
internal sealed class ConsoleApi(IServer server, IConfiguration configuration) : IDisposable
{
    private readonly Lock _gate = new();
    private HttpClient? _http;

    public GureumClient ClientFor(string key) => new(Http, key);

    private HttpClient Http
    {
        get
        {
            lock (_gate)
            {
                if (_http is null)
                {
                    var configured = configuration["Gureum:Console:ApiUrl"];
                    var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                    var baseAddress = configured is { Length: > 0 } ? new Uri(configured) : Loopback(addresses)
                        ?? throw new InvalidOperationException("The server has no HTTP address yet; set Gureum:Console:ApiUrl.");
                    _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
                    {
                        BaseAddress = new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + "/"),
                        Timeout = Timeout.InfiniteTimeSpan, // uploads take as long as they take; GureumClient limits the other calls
                    };
                    // Host filtering (AllowedHosts) would refuse a request to 127.0.0.1: name a host it allows.
                    if (configuration["AllowedHosts"] is { Length: > 0 } allowed && allowed != "*"
                        && allowed.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(h => !h.Contains('*')) is { } host)
                    {
                        _http.DefaultRequestHeaders.Host = host;
                    }
                }
                return _http;
            }
        }
    }

    /// <summary>The first listening address turned into one this process can reach: wildcards become loopback; http before https.</summary>
    internal static Uri? Loopback(IEnumerable<string> addresses)
    {
        var candidates = new List<Uri>();
        foreach (var address in addresses)
        {
            var text = address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal);
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host == "unix" || uri.Scheme is not ("http" or "https"))
            {
                continue;
            }
            var host = uri.Host switch
            {
                "0.0.0.0" => "127.0.0.1",
                "[::]" or "::" => "[::1]",
                _ => uri.Host,
            };
            candidates.Add(new UriBuilder(uri) { Host = host }.Uri);
        }
        return candidates.OrderBy(u => u.Scheme == "http" ? 0 : 1).FirstOrDefault();
    }

    public void Dispose() => _http?.Dispose();
}
