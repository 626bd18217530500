using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// A creating request sent under one Idempotency-Key and repeated on a failure a retry may get past, so the
/// server stores it once however many times it was sent.
/// </summary>
internal static class IdempotentRetry
{
    private static readonly TimeSpan[] Delays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    /// <param name="what">What is sent, for the retry message ("Upload", "Create").</param>
    public static async Task<T> RunAsync<T>(Session s, string what, Func<Task<T>> send, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await send();
            }
            catch (Exception e) when (attempt < Delays.Length && IsTransient(e, ct))
            {
                s.Err.MarkupLine($"[yellow]{what} attempt {attempt + 1} failed ({Markup.Escape(e.Message)}); retrying with the same Idempotency-Key.[/]");
                await Task.Delay(Delays[attempt], ct);
            }
        }
    }

    /// <summary>Failures a retry of the same request may get past: the connection, a gateway, a timeout, or the first attempt still running.</summary>
    public static bool IsTransient(Exception e, CancellationToken ct) => !ct.IsCancellationRequested && e switch
    {
        GureumApiException api => api.Status is 502 or 503 or 504 || api.Type == "urn:gureum:problem:idempotency-key-in-progress",
        HttpRequestException http => http.StatusCode is null,
        IOException => true,
        TaskCanceledException cancelled => cancelled.InnerException is TimeoutException,
        _ => false,
    };
}
