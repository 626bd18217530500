using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Automation;

/// <summary>
/// <c>Gureum:Webhooks</c>. Webhooks may not reach loopback, private, link-local (cloud metadata) or other internal
/// addresses unless the host is listed in <see cref="AllowedHosts"/> (an in-house chat relay, say) or
/// <see cref="AllowPrivateNetworks"/> is set.
/// </summary>
public sealed class WebhookOptions
{
    public List<string> AllowedHosts { get; set; } = [];
    public bool AllowPrivateNetworks { get; set; }
    public double TimeoutSeconds { get; set; } = 10;
}

/// <summary>
/// The rule for every URL a tenant gives us to call: http or https, no credentials in it, and a host that does not
/// resolve to an internal address — checked when the URL is saved and again on every connection (after DNS, so a
/// name that later points inside is caught too). Redirects are never followed.
/// </summary>
public sealed class OutboundUrls(WebhookOptions options)
{
    public const int MaxLength = 2048;

    /// <summary>Refuses a URL that can never be called, naming the field; a name that does not resolve now is checked again at send time.</summary>
    public void Validate(string field, string url)
    {
        if (url.Length > MaxLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw GureumException.Invalid(field, $"'{field}' must be an absolute http or https URL of at most {MaxLength} characters.");
        }
        if (uri.UserInfo.Length > 0) throw GureumException.Invalid(field, $"'{field}' must not carry credentials; put a token in the path or query instead.");
        if (IsAllowedHost(uri.Host)) return;
        IPAddress[] addresses;
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = Dns.GetHostAddresses(uri.IdnHost);
            }
            catch (SocketException)
            {
                return; // not resolvable from here now: checked again when it is called
            }
        }
        if (addresses.FirstOrDefault(IsInternal) is { } inside)
        {
            throw GureumException.Invalid(field,
                $"'{field}' points at an internal address ({inside}); webhooks may not reach loopback, private or link-local networks. An operator can allow a host with Gureum:Webhooks:AllowedHosts.");
        }
    }

    public bool IsAllowedHost(string host) =>
        options.AllowPrivateNetworks || options.AllowedHosts.Any(h => string.Equals(h, host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase));

    /// <summary>True for loopback, unspecified, private (10/8, 172.16/12, 192.168/16, fc00::/7), carrier-grade NAT, link-local and multicast addresses.</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6None)) return true;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 || b[0] >= 224
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 100 && b[1] is >= 64 and <= 127);
        }
        var bytes = address.GetAddressBytes();
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (bytes[0] & 0xFE) == 0xFC;
    }

    /// <summary>Connects only to an address that passes the rule (resolved here, so DNS cannot be switched between check and use).</summary>
    internal async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = IsAllowedHost(host) ? addresses : [.. addresses.Where(a => !IsInternal(a))];
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"'{host}' resolves only to internal addresses ({string.Join(", ", addresses.Select(a => a.ToString()))}); webhooks may not reach them.");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>Posts JSON events to tenant webhooks through <see cref="OutboundUrls"/>: no redirects, a timeout, the answer's status recorded.</summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _client;

    public WebhookSender(OutboundUrls urls, WebhookOptions options)
    {
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectCallback = urls.ConnectAsync, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("Gureum-Webhook/1");
    }

    /// <summary>Delivers one event; returns null when the receiver answered 2xx, else why not.</summary>
    public async Task<string?> SendAsync(string url, string eventType, object payload, CancellationToken ct)
    {
        try
        {
            using var content = JsonContent.Create(new { type = eventType, data = payload }, options: JsonDefaults.Web);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
            request.Headers.Add("X-Gureum-Event", eventType);
            using var response = await _client.SendAsync(request, ct);
            var status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => null,
                >= 300 and < 400 => $"the receiver answered {status} (a redirect); redirects are not followed",
                _ => $"the receiver answered {status}",
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
        {
            return e is TaskCanceledException && !ct.IsCancellationRequested ? "the receiver did not answer in time" : e.Message;
        }
    }

    public void Dispose() => _client.Dispose();
}
