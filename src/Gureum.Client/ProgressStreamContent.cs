using System.Net;

namespace Gureum.Client;

/// <summary>
/// A request body read from a stream in chunks as it is sent (never buffered whole), reporting the bytes sent so far
/// after each chunk. The length is sent as Content-Length when the stream can tell it.
/// </summary>
public sealed class ProgressStreamContent : HttpContent
{
    private const int ChunkSize = 81920;

    private readonly Stream _content;
    private readonly long _start;
    private readonly IProgress<long>? _progress;

    /// <param name="content">Read from its current position; disposed with this content.</param>
    /// <param name="progress">Told the total bytes sent so far after each chunk (and 0 when sending starts).</param>
    public ProgressStreamContent(Stream content, IProgress<long>? progress)
    {
        ArgumentNullException.ThrowIfNull(content);
        _content = content;
        _start = content.CanSeek ? content.Position : 0;
        _progress = progress;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (_content.CanSeek && _content.Position != _start)
        {
            _content.Position = _start; // sent again (a retried request): start over
        }
        var buffer = new byte[ChunkSize];
        long sent = 0;
        _progress?.Report(0);
        int read;
        while ((read = await _content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            sent += read;
            _progress?.Report(sent);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        if (_content.CanSeek)
        {
            length = _content.Length - _start;
            return true;
        }
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _content.Dispose();
        }
        base.Dispose(disposing);
    }
}
