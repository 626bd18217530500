using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Serving;

/// <summary>The endpoint is placed on other nodes (<see cref="PlacementSpec"/>); its requests go to one of <see cref="Hosts"/>.</summary>
public sealed class EndpointElsewhereException(string name, IReadOnlyList<string> hosts, string? reason)
    : Exception($"Endpoint '{name}' is served by other nodes.")
{
    public string Name { get; } = name;
    public IReadOnlyList<string> Hosts { get; } = hosts;
    public string? Reason { get; } = reason;
}

/// <summary>
/// Forwards a request for an endpoint placed on other nodes to one of them, as it came (method, path, query, the
/// caller's key and body), and its answer back. A node whose connection fails is skipped for the next; a forwarded
/// request is never forwarded again. Usage is metered where the prediction runs, once.
/// </summary>
public sealed class EndpointForwarder : IDisposable
{
    public const string ForwardedHeader = "X-Gureum-Forwarded-By";
    private static readonly string[] RequestHeaders = ["Authorization", "Idempotency-Key", "X-Gureum-Project", "Accept"];
    private static readonly string[] ResponseHeaders = ["Retry-After", "X-Gureum-Model-Version", "Location"];
    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromMinutes(11),
    };
    private int _next;

    /// <summary>Endpoint filter for serving routes: turns <see cref="EndpointElsewhereException"/> into a forwarded request.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (EndpointElsewhereException elsewhere)
        {
            var http = context.HttpContext;
            await http.RequestServices.GetRequiredService<EndpointForwarder>().ForwardAsync(http, elsewhere, http.RequestAborted);
            return Results.Empty;
        }
    }

    public async Task ForwardAsync(HttpContext http, EndpointElsewhereException elsewhere, CancellationToken ct)
    {
        var self = http.RequestServices.GetRequiredService<Nodes.NodeCapabilities>().Name;
        if (http.Request.Headers.ContainsKey(ForwardedHeader) || elsewhere.Hosts.Count == 0)
        {
            throw new GureumException(ProblemCode.NotReady, elsewhere.Hosts.Count == 0
                ? $"Endpoint '{elsewhere.Name}' has no live node to run on: {elsewhere.Reason ?? "its placement matches none"}. Start a node that meets it, or change the placement with PUT."
                : $"Endpoint '{elsewhere.Name}' is not hosted on node {self}, which was itself forwarded this request; retry.");
        }
        var body = await RequestBody.ReadAsync(http, EndpointSpec.MaxBodyBytesLimit,
            size => new GureumException(ProblemCode.PayloadTooLarge, $"The body is over {EndpointSpec.MaxBodyBytesLimit} bytes."), ct);
        var start = Interlocked.Increment(ref _next);
        for (var attempt = 0; attempt < elsewhere.Hosts.Count; attempt++)
        {
            var host = elsewhere.Hosts[(int)((uint)(start + attempt) % elsewhere.Hosts.Count)];
            using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), host.TrimEnd('/') + http.Request.Path + http.Request.QueryString);
            if (body.Length > 0 || http.Request.ContentType is not null)
            {
                request.Content = new ByteArrayContent(body);
                if (http.Request.ContentType is { } type) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
            foreach (var name in RequestHeaders)
            {
                if (http.Request.Headers.TryGetValue(name, out var value)) request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value);
            }
            request.Headers.TryAddWithoutValidation(ForwardedHeader, self);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (HttpRequestException)
            {
                continue; // that node is down: the next one
            }
            using (response)
            {
                http.Response.StatusCode = (int)response.StatusCode;
                foreach (var name in ResponseHeaders)
                {
                    if (response.Headers.TryGetValues(name, out var values)) http.Response.Headers[name] = values.ToArray();
                }
                if (response.Content.Headers.ContentType is { } contentType) http.Response.ContentType = contentType.ToString();
                await response.Content.CopyToAsync(http.Response.Body, ct);
            }
            return;
        }
        throw new GureumException(ProblemCode.NotReady, $"Endpoint '{elsewhere.Name}' is served by {elsewhere.Hosts.Count} other node(s) and none answered; retry.");
    }

    public void Dispose() => _client.Dispose();
}
