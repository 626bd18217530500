using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Gureum.Server.Infrastructure;

/// <summary>Whole request bodies read under a route's own limit.</summary>
public static class RequestBody
{
    /// <summary>
    /// Reads the body, refusing it from its Content-Length before reading and again while reading (a chunked body has
    /// none); <paramref name="tooLarge"/> makes the caller's 413 from the size seen.
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpContext http, long maxBytes, Func<long, Exception> tooLarge, CancellationToken ct)
    {
        if (http.Request.ContentLength is { } declared && declared > maxBytes) throw tooLarge(declared);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = maxBytes + 1;
        try
        {
            if (http.Request.ContentLength is { } length)
            {
                // The declared size is what Kestrel lets through: read straight into an array of that size (no
                // growing buffer and no copy at the end; an image-sized tensor body was copied twice).
                var body = GC.AllocateUninitializedArray<byte>((int)length);
                var filled = 0;
                while (filled < body.Length)
                {
                    var n = await http.Request.Body.ReadAsync(body.AsMemory(filled), ct);
                    if (n == 0) return body[..filled];
                    filled += n;
                }
                return body;
            }
            var buffer = new ArrayBufferWriter<byte>(16 * 1024);
            while (true)
            {
                var read = await http.Request.Body.ReadAsync(buffer.GetMemory(16 * 1024), ct);
                if (read == 0) break;
                buffer.Advance(read);
                if (buffer.WrittenCount > maxBytes) throw tooLarge(buffer.WrittenCount);
            }
            return buffer.WrittenSpan.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw tooLarge(maxBytes + 1);
        }
    }
}
