using System.Security.Cryptography;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Infrastructure.Idempotency;

/// <summary>
/// <c>Idempotency-Key</c> on creating POSTs: the first request's 2xx answer is stored per API key and replayed for a
/// retry with the same key and the same body; the same key with another body → 422; while the first is still
/// running → 409. Failed (non-2xx) answers are not stored, so a corrected retry may reuse the key.
/// </summary>
internal sealed class IdempotencyFilter(GureumDbFactory dbFactory, TimeProvider clock) : IEndpointFilter
{
    public const string Header = "Idempotency-Key";

    /// <summary>How long an answer is replayed; after that the key may be used again for a new request.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers[Header].ToString();
        if (key.Length == 0)
        {
            return await next(context);
        }
        if (key.Length > 255 || key.Any(char.IsControl))
        {
            throw GureumException.Invalid(Header, "The Idempotency-Key header must be at most 255 printable characters.");
        }
        var caller = Caller.From(http.User);
        var requestHash = await HashRequestAsync(http.Request);

        await using (var db = dbFactory.Create())
        {
            var expired = clock.GetUtcNow() - Retention;
            await db.IdempotencyRecords.Where(r => r.CreatedAt < expired).ExecuteDeleteAsync(http.RequestAborted);
            // A retry finds its record here; only two first attempts racing each other reach the unique index below.
            if (await db.IdempotencyRecords.AnyAsync(r => r.ApiKeyId == caller.KeyId && r.Key == key, http.RequestAborted))
            {
                return await ReplayAsync(caller.KeyId, key, requestHash, http.RequestAborted);
            }
            db.IdempotencyRecords.Add(new IdempotencyRecord
            {
                ApiKeyId = caller.KeyId, Key = key, RequestHash = requestHash, CreatedAt = clock.GetUtcNow(),
            });
            try
            {
                await db.SaveChangesAsync(http.RequestAborted);
            }
            catch (DbUpdateException)
            {
                return await ReplayAsync(caller.KeyId, key, requestHash, http.RequestAborted);
            }
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await ForgetAsync(caller.KeyId, key);
            throw;
        }
        if (result is not IResult executable)
        {
            await ForgetAsync(caller.KeyId, key);
            return result;
        }
        // Run the result into a buffer to keep a copy of exactly what the client receives.
        var original = http.Response.Body;
        using var buffer = new MemoryStream();
        http.Response.Body = buffer;
        try
        {
            await executable.ExecuteAsync(http);
        }
        finally
        {
            http.Response.Body = original;
        }
        var status = http.Response.StatusCode;
        if (status is >= 200 and < 300)
        {
            await using var db = dbFactory.Create();
            await db.IdempotencyRecords.Where(r => r.ApiKeyId == caller.KeyId && r.Key == key)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(r => r.Completed, true)
                    .SetProperty(r => r.ResponseStatus, status)
                    .SetProperty(r => r.ResponseContentType, http.Response.ContentType)
                    .SetProperty(r => r.ResponseLocation, http.Response.Headers.Location.ToString())
                    .SetProperty(r => r.ResponseBody, buffer.ToArray()), CancellationToken.None);
        }
        else
        {
            await ForgetAsync(caller.KeyId, key);
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(original, http.RequestAborted);
        return Results.Empty;
    }

    private async Task<IResult> ReplayAsync(string apiKeyId, string key, string requestHash, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var record = await db.IdempotencyRecords.AsNoTracking().FirstOrDefaultAsync(r => r.ApiKeyId == apiKeyId && r.Key == key, ct)
            ?? throw new GureumException(ProblemCode.IdempotencyKeyInProgress, "A request with this Idempotency-Key was just being processed. Retry it.");
        if (record.RequestHash != requestHash)
        {
            throw new GureumException(ProblemCode.IdempotencyKeyReused,
                "This Idempotency-Key was already used with a different request. Use a new key for a new request.");
        }
        if (!record.Completed)
        {
            throw new GureumException(ProblemCode.IdempotencyKeyInProgress,
                "The first request with this Idempotency-Key is still running. Retry after it finishes.");
        }
        return new StoredResponse(record);
    }

    private async Task ForgetAsync(string apiKeyId, string key)
    {
        await using var db = dbFactory.Create();
        await db.IdempotencyRecords.Where(r => r.ApiKeyId == apiKeyId && r.Key == key && !r.Completed).ExecuteDeleteAsync();
    }

    private static async Task<string> HashRequestAsync(HttpRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(request.Method + " " + request.Path + "\n"));
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
            // Clients draw a fresh multipart boundary for every attempt (curl -F, HttpClient); a retry of the same
            // upload must still hash the same, so the boundary is left out of the hash.
            var boundary = MultipartBoundary(request.ContentType);
            var buffer = new byte[81920];
            var carry = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(carry), request.HttpContext.RequestAborted)) > 0)
            {
                var filled = carry + read;
                carry = boundary.Length == 0 ? 0 : HashWithout(hash, buffer.AsSpan(0, filled), boundary);
                if (boundary.Length == 0)
                {
                    hash.AppendData(buffer, 0, filled);
                }
                buffer.AsSpan(filled - carry, carry).CopyTo(buffer);
            }
            hash.AppendData(buffer, 0, carry);
            // Handlers that read the body themselves (uploads) read it again from the start.
            request.Body.Position = 0;
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static byte[] MultipartBoundary(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var type)
        && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
        && Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(type.Boundary).Value is { Length: > 0 and <= 70 } boundary
            ? System.Text.Encoding.ASCII.GetBytes(boundary)
            : [];

    /// <summary>Hashes <paramref name="data"/> with every occurrence of <paramref name="boundary"/> removed, except a tail
    /// that might be the start of one; returns the tail's length, to be carried into the next read.</summary>
    private static int HashWithout(IncrementalHash hash, ReadOnlySpan<byte> data, byte[] boundary)
    {
        int found;
        while ((found = data.IndexOf(boundary)) >= 0)
        {
            hash.AppendData(data[..found]);
            data = data[(found + boundary.Length)..];
        }
        var keep = Math.Min(data.Length, boundary.Length - 1);
        hash.AppendData(data[..^keep]);
        return keep;
    }

    private sealed class StoredResponse(IdempotencyRecord record) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = record.ResponseStatus;
            http.Response.Headers["Idempotent-Replayed"] = "true";
            if (!string.IsNullOrEmpty(record.ResponseLocation))
            {
                http.Response.Headers.Location = record.ResponseLocation;
                // A 202's Location is where to poll; the AI APIs also name it Operation-Location, as the cloud APIs do.
                if (record.ResponseStatus == StatusCodes.Status202Accepted) http.Response.Headers["Operation-Location"] = record.ResponseLocation;
            }
            if (record.ResponseContentType is not null)
            {
                http.Response.ContentType = record.ResponseContentType;
            }
            if (record.ResponseBody is { Length: > 0 } body)
            {
                await http.Response.Body.WriteAsync(body);
            }
        }
    }
}

/// <summary>Marks a route whose retries with the same Idempotency-Key replay the first answer (usage counts it once).</summary>
public sealed class IdempotentRoute;

public static class IdempotencySetup
{
    /// <summary>Makes a creating POST safe to retry with an <c>Idempotency-Key</c> header.</summary>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<IdempotencyFilter>().WithMetadata(new IdempotentRoute());

    /// <summary>Lets the filter hash the body after model binding has read it.</summary>
    public static IApplicationBuilder UseIdempotencyBuffering(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        if (HttpMethods.IsPost(http.Request.Method) && http.Request.Headers.ContainsKey(IdempotencyFilter.Header))
        {
            http.Request.EnableBuffering();
        }
        return next(http);
    });
}
