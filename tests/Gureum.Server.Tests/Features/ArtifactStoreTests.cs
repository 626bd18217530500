using System.Security.Cryptography;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Tests.Features;

public sealed class ArtifactStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Directory.CreateTempSubdirectory("gureum-artifacts-").FullName, "artifacts");
    private readonly LocalArtifactStore _store;

    public ArtifactStoreTests() => _store = new LocalArtifactStore(_root);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_root)!, recursive: true);

    private static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    private IEnumerable<string> TempFiles => Directory.EnumerateFiles(Path.Combine(_root, "tmp"));
    private IEnumerable<string> Blobs => Directory.EnumerateFiles(Path.Combine(_root, "sha256"), "*", SearchOption.AllDirectories);

    [Fact]
    public async Task Put_NamesTheBlobBySha256_AndReadsBackTheSameBytes()
    {
        var bytes = RandomBytes(300_000);
        var info = await _store.PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), info.Sha256);
        Assert.Equal(bytes.Length, info.Length);
        await using var read = _store.OpenRead(info.Sha256);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
        Assert.Empty(TempFiles);
    }

    [Fact]
    public async Task Put_SameContentTwice_StoresOneBlob()
    {
        var bytes = RandomBytes(1000);
        var a = await _store.PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        var b = await _store.PutAsync(new MemoryStream(bytes), long.MaxValue, CancellationToken.None);
        Assert.Equal(a, b);
        Assert.Single(Blobs);
    }

    [Fact]
    public async Task Put_OverTheLimit_Answers413AndLeavesNothing()
    {
        var error = await Assert.ThrowsAsync<GureumException>(() =>
            _store.PutAsync(new MemoryStream(RandomBytes(10_000)), 4_096, CancellationToken.None));
        Assert.Equal(ProblemCode.PayloadTooLarge, error.Code);
        Assert.Empty(Blobs);
        Assert.Empty(TempFiles);
    }

    [Fact]
    public async Task Put_WhenTheSourceFailsMidway_LeavesNoVisibleBlob()
    {
        await Assert.ThrowsAsync<IOException>(() =>
            _store.PutAsync(new FailingStream(RandomBytes(200_000), failAfter: 100_000), long.MaxValue, CancellationToken.None));
        Assert.Empty(Blobs);
        Assert.Empty(TempFiles);
    }

    [Fact]
    public async Task Read_OfACorruptedBlob_IsDetectedByItsHash()
    {
        var info = await _store.PutAsync(new MemoryStream(RandomBytes(5000)), long.MaxValue, CancellationToken.None);
        var path = Blobs.Single();
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[1234] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);
        Assert.False(await _store.VerifyAsync(info.Sha256, CancellationToken.None));
        await using var read = _store.OpenRead(info.Sha256);
        await Assert.ThrowsAsync<ArtifactCorruptException>(() => read.CopyToAsync(Stream.Null));
    }

    [Fact]
    public async Task Read_OfAMissingBlob_SaysItIsMissing()
    {
        var info = await _store.PutAsync(new MemoryStream(RandomBytes(10)), long.MaxValue, CancellationToken.None);
        _store.Delete(info.Sha256);
        Assert.Throws<ArtifactMissingException>(() => _store.OpenRead(info.Sha256));
        Assert.False(await _store.VerifyAsync(info.Sha256, CancellationToken.None));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("..%2f..%2fetc%2fpasswd")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\x")]
    [InlineData("ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [InlineData("abc")]
    public void Paths_AreOnlyEverMadeFromDigests(string digest)
    {
        var error = Assert.Throws<GureumException>(() => _store.OpenRead(digest));
        Assert.Equal(ProblemCode.Validation, error.Code);
        Assert.Throws<GureumException>(() => _store.Exists(digest));
        Assert.Throws<GureumException>(() => _store.Delete(digest));
    }

    [Fact]
    public async Task Files_AreOwnerOnly()
    {
        await _store.PutAsync(new MemoryStream(RandomBytes(10)), long.MaxValue, CancellationToken.None);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Blobs.Single()));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_root));
    }

    [Fact]
    public void AbandonedTempFiles_OfDeadWriters_AreRemoved_YoungOnesKept()
    {
        var old = Path.Combine(_root, "tmp", "dead-writer");
        var young = Path.Combine(_root, "tmp", "live-writer");
        File.WriteAllBytes(old, [1]);
        File.WriteAllBytes(young, [1]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        Assert.Equal(1, _store.RemoveAbandonedTempFiles(TimeSpan.FromHours(1)));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
    }

    private sealed class FailingStream(byte[] data, int failAfter) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position >= failAfter ? throw new IOException("connection reset") : base.ReadAsync(buffer, cancellationToken);
    }
}
