using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Infrastructure.Artifacts;

/// <summary>A stored blob, named by the SHA-256 of its bytes (lower-case hex).</summary>
public sealed record ArtifactInfo(string Sha256, long Length);

/// <summary>
/// Content-addressed blob storage. Invariant: a blob is visible under its digest only once all its bytes
/// are durable; callers commit the metadata row that references a digest only after <see cref="PutAsync"/>
/// returns, so a crash in between leaves an unreferenced blob, never a row without its bytes.
/// A second implementation (S3-compatible) fits behind the same interface.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Streams <paramref name="content"/> into the store; throws 413 past <paramref name="maxBytes"/>.</summary>
    Task<ArtifactInfo> PutAsync(Stream content, long maxBytes, CancellationToken ct);

    /// <summary>A stream that verifies the digest as it is read and throws <see cref="ArtifactCorruptException"/> at the end on a mismatch.</summary>
    Stream OpenRead(string sha256);

    bool Exists(string sha256);

    void Delete(string sha256);

    /// <summary>Reads the whole blob and checks its digest.</summary>
    Task<bool> VerifyAsync(string sha256, CancellationToken ct);

    /// <summary>Fails when the store cannot be written (readiness).</summary>
    Task CheckWritableAsync(CancellationToken ct);

    /// <summary>
    /// A private local directory for work on a file before it is stored (a model being validated); the caller deletes it.
    /// It lives beside the store's temp files so that one a killed process left behind is removed at the next start.
    /// </summary>
    DirectoryInfo CreateScratchDirectory();
}

public sealed class ArtifactMissingException(string sha256) : Exception($"Artifact {sha256} is missing from the store.");

public sealed class ArtifactCorruptException(string sha256) : Exception($"Artifact {sha256} does not match its digest: the stored bytes are corrupt.");

/// <summary>Blobs under <c>&lt;data&gt;/artifacts/sha256/ab/abcd…</c>, written to <c>tmp/</c>, fsynced, then renamed.</summary>
public sealed partial class LocalArtifactStore : IArtifactStore
{
    private readonly string _blobRoot;
    private readonly string _tempRoot;

    public LocalArtifactStore(string root)
    {
        _blobRoot = Path.Combine(root, "sha256");
        _tempRoot = Path.Combine(root, "tmp");
        foreach (var dir in new[] { root, _blobRoot, _tempRoot })
        {
            Directory.CreateDirectory(dir);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    public async Task<ArtifactInfo> PutAsync(Stream content, long maxBytes, CancellationToken ct)
    {
        var tempPath = Path.Combine(_tempRoot, Guid.NewGuid().ToString("N"));
        try
        {
            string digest;
            long length = 0;
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            await using (var file = new FileStream(tempPath, options))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, ct)) > 0)
                {
                    length += read;
                    if (length > maxBytes)
                    {
                        throw new GureumException(ProblemCode.PayloadTooLarge, $"The content is larger than the limit of {maxBytes} bytes.");
                    }
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                file.Flush(flushToDisk: true);
                digest = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            var finalPath = BlobPath(digest);
            if (File.Exists(finalPath))
            {
                File.Delete(tempPath); // same bytes already stored
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);
                File.Move(tempPath, finalPath, overwrite: true);
                FsyncDirectory(Path.GetDirectoryName(finalPath)!);
            }
            return new ArtifactInfo(digest, length);
        }
        catch
        {
            File.Delete(tempPath);
            throw;
        }
    }

    public Stream OpenRead(string sha256)
    {
        var path = BlobPath(sha256);
        if (!File.Exists(path))
        {
            throw new ArtifactMissingException(sha256);
        }
        return new VerifyingStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan), sha256);
    }

    public bool Exists(string sha256) => File.Exists(BlobPath(sha256));

    public void Delete(string sha256) => File.Delete(BlobPath(sha256));

    public async Task<bool> VerifyAsync(string sha256, CancellationToken ct)
    {
        try
        {
            await using var stream = OpenRead(sha256);
            await stream.CopyToAsync(Stream.Null, ct);
            return true;
        }
        catch (Exception e) when (e is ArtifactCorruptException or ArtifactMissingException)
        {
            return false;
        }
    }

    public async Task CheckWritableAsync(CancellationToken ct)
    {
        var probe = Path.Combine(_tempRoot, "ready-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(probe, [1], ct);
        File.Delete(probe);
    }

    public DirectoryInfo CreateScratchDirectory()
    {
        var directory = Directory.CreateDirectory(Path.Combine(_tempRoot, "scratch-" + Guid.NewGuid().ToString("N")));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return directory;
    }

    /// <summary>Removes temp files and scratch directories left by writers that died; young ones may belong to a live writer on another node.</summary>
    public int RemoveAbandonedTempFiles(TimeSpan olderThan)
    {
        var removed = 0;
        var root = new DirectoryInfo(_tempRoot);
        foreach (var file in root.EnumerateFiles())
        {
            if (DateTime.UtcNow - file.LastWriteTimeUtc > olderThan)
            {
                file.Delete();
                removed++;
            }
        }
        foreach (var directory in root.EnumerateDirectories("scratch-*"))
        {
            var lastWrite = directory.EnumerateFiles("*", SearchOption.AllDirectories).Select(f => f.LastWriteTimeUtc).Append(directory.LastWriteTimeUtc).Max();
            if (DateTime.UtcNow - lastWrite > olderThan)
            {
                directory.Delete(recursive: true);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>The only way a digest becomes a path: it must be 64 lower-case hex characters.</summary>
    private string BlobPath(string sha256)
    {
        if (!DigestPattern().IsMatch(sha256))
        {
            throw new GureumException(ProblemCode.Validation, $"'{sha256}' is not a SHA-256 digest (64 lower-case hex characters).");
        }
        return Path.Combine(_blobRoot, sha256[..2], sha256);
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex DigestPattern();

    // A rename is durable only once its directory entry is; .NET has no directory fsync, libc does.
    internal static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = Native.fsync(fd);
            _ = Native.close(fd);
        }
    }

    // DllImport rather than LibraryImport: the latter needs unsafe code, which this project does not allow.
#pragma warning disable SYSLIB1054
    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        internal static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc")]
        internal static extern int fsync(int fd);

        [DllImport("libc")]
        internal static extern int close(int fd);
    }
#pragma warning restore SYSLIB1054

    private sealed class VerifyingStream(FileStream inner, string expected) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private bool _checked;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            return Observe(buffer[..read]);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            return Observe(buffer.Span[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Observe(ReadOnlySpan<byte> data)
        {
            if (data.Length > 0)
            {
                _hash.AppendData(data);
            }
            else if (!_checked)
            {
                _checked = true;
                if (Convert.ToHexStringLower(_hash.GetHashAndReset()) != expected)
                {
                    throw new ArtifactCorruptException(expected);
                }
            }
            return data.Length;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
