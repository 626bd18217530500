using System.IO.Compression;

namespace Gureum.ML.Data.Internal;

/// <summary>A read-only stream that first returns <c>prefix</c>, then the rest of <c>inner</c>; never disposes <c>inner</c> unless told to.</summary>
internal sealed class PrefixStream(byte[] prefix, int prefixLength, Stream inner, bool ownsInner) : Stream
{
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_offset < prefixLength)
        {
            var n = Math.Min(buffer.Length, prefixLength - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }
        return inner.Read(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_offset < prefixLength)
        {
            var n = Math.Min(buffer.Length, prefixLength - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer.Span);
            _offset += n;
            return ValueTask.FromResult(n);
        }
        return inner.ReadAsync(buffer, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsInner) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (ownsInner) await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>Counts the bytes read from a stream (the compressed side of a gzip stream).</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        BytesRead += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}

/// <summary>Decompresses gzip on the fly and stops (DataFormatException) as soon as a limit is passed.</summary>
internal sealed class GuardedGzipStream : Stream
{
    /// <summary>Below this many decompressed bytes the ratio is not checked (tiny files compress very well).</summary>
    internal const long RatioGraceBytes = 256 * 1024;

    private readonly CountingStream _compressed;
    private readonly GZipStream _gzip;
    private readonly DataLimits _limits;
    private long _produced;

    public GuardedGzipStream(Stream compressed, DataLimits limits)
    {
        _compressed = new CountingStream(compressed);
        _gzip = new GZipStream(_compressed, CompressionMode.Decompress, leaveOpen: true);
        _limits = limits;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Check(Decompress(() => _gzip.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await _gzip.ReadAsync(buffer, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(e);
        }
        return Check(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private static int Decompress(Func<int> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(e);
        }
    }

    private static DataFormatException Corrupt(Exception e) =>
        new($"The gzip stream is corrupt: {e.Message}", [new DataError(0, null, "corrupt gzip stream")]);

    private int Check(int n)
    {
        _produced += n;
        if (_produced > _limits.MaxDecompressedBytes)
        {
            var message = $"Decompressed size exceeds MaxDecompressedBytes ({_limits.MaxDecompressedBytes} bytes).";
            throw new DataFormatException(message, [new DataError(0, null, message)]);
        }
        if (_produced > RatioGraceBytes && _produced > _compressed.BytesRead * (long)_limits.MaxCompressionRatio)
        {
            var message = $"Compression ratio exceeds MaxCompressionRatio ({_limits.MaxCompressionRatio}:1): a gzip bomb?";
            throw new DataFormatException(message, [new DataError(0, null, message)]);
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _gzip.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>The opened input: decompressed if gzip, with its first bytes available for detection.</summary>
internal sealed class OpenedInput(Stream stream, bool gzip, byte[] prefix, int prefixLength) : IAsyncDisposable
{
    internal const int PrefixSize = 64 * 1024;

    public Stream Stream { get; } = stream;
    public bool Gzip { get; } = gzip;
    public ReadOnlyMemory<byte> Prefix => prefix.AsMemory(0, prefixLength);

    public static async Task<OpenedInput> OpenAsync(Stream content, DataLimits limits, CancellationToken ct)
    {
        var magic = new byte[2];
        var m = await FillAsync(content, magic, ct);
        Stream s = new PrefixStream(magic, m, content, ownsInner: false);
        var gzip = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (gzip) s = new GuardedGzipStream(s, limits);
        var prefix = new byte[PrefixSize];
        var n = await FillAsync(s, prefix, ct);
        return new OpenedInput(new PrefixStream(prefix, n, s, ownsInner: true), gzip, prefix, n);
    }

    internal static async Task<int> FillAsync(Stream s, Memory<byte> buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await s.ReadAsync(buffer[total..], ct);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}
