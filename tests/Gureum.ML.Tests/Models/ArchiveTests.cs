using System.Buffers.Binary;
using System.IO.Compression;
using Gureum.ML.Models;

namespace Gureum.ML.Tests.Models;

/// <summary>ML.NET model zips are untrusted archives: names, links, duplicates, bombs and nesting are refused before extraction.</summary>
public class ArchiveTests
{
    private static readonly ModelFileLimits Limits = new();

    private static ModelFileException Refused(byte[] zip, ModelFileLimits? limits = null, string code = ModelFileException.Invalid)
    {
        using var files = new ModelTestFiles();
        var path = files.Write("m.zip", zip);
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.StaticCheck(path, ModelFormat.MlNet, limits ?? Limits));
        Assert.Equal(code, e.Code);
        Assert.DoesNotContain(files.Dir.FullName, e.Message);
        return e;
    }

    private static byte[] WithEntry(string name, byte[]? data = null) => MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, (name, data ?? new byte[8])]);

    [Fact]
    public void Archives_RealMlNetModel_Passes()
    {
        using var files = new ModelTestFiles();
        Assert.Null(ModelFiles.StaticCheck(files.Write("m.zip", MlNetModels.Plain), ModelFormat.MlNet, Limits));
    }

    [Fact]
    public async Task Archives_RealAutoMlModel_Passes()
    {
        using var files = new ModelTestFiles();
        var path = files.Write("m.zip", await MlNetModels.AutoMl);
        Assert.Null(ModelFiles.StaticCheck(path, ModelFormat.MlNet, Limits));
    }

    [Theory]
    [InlineData("../../evil")]
    [InlineData("TransformerChain/../../evil")]
    [InlineData("/abs")]
    [InlineData("..\\evil")]
    [InlineData("TransformerChain\\..\\..\\evil")]
    [InlineData("C:\\x")]
    [InlineData("C:/x")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    [InlineData("a\0b")]
    [InlineData("a\r\nb")]
    [InlineData("..")]
    public void Archives_ZipSlipEntry_IsRejected(string name)
    {
        var e = Refused(WithEntry(name));
        Assert.Contains("the entry", e.Message);
    }

    [Fact]
    public void Archives_SymlinkEntry_IsRejected()
    {
        var zip = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, ("TransformerChain/link", "/etc/passwd"u8.ToArray())],
            tweak: e => e.ExternalAttributes = e.FullName.EndsWith("link", StringComparison.Ordinal) ? unchecked((int)0xA1FF_0000) : e.ExternalAttributes);
        Assert.Contains("symbolic link", Refused(zip).Message);
    }

    [Theory]
    [InlineData("TransformerChain/Model.key")]
    [InlineData("transformerchain/MODEL.KEY")]
    public void Archives_DuplicateEntry_IsRejected(string duplicate)
    {
        Assert.Contains("appears twice", Refused(WithEntry(duplicate)).Message);
    }

    [Fact]
    public void Archives_TooManyEntries_IsRejected()
    {
        var zip = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, .. Enumerable.Range(0, Limits.MaxZipEntries).Select(i => ($"TransformerChain/e{i}", Array.Empty<byte>()))],
            CompressionLevel.NoCompression);
        Assert.Contains($"more than {Limits.MaxZipEntries} entries", Refused(zip).Message);
    }

    [Fact]
    public void Archives_EndRecordUnderstatingEntryCount_IsRejectedWhileReadingCentralDirectory()
    {
        var zip = MlNetModels.Zip(Enumerable.Range(0, 50).Select(i => ($"TransformerChain/e{i}", Array.Empty<byte>())), CompressionLevel.NoCompression);
        var end = zip.Length - 22;
        Assert.Equal(0x06054b50u, BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end)));
        BinaryPrimitives.WriteUInt16LittleEndian(zip.AsSpan(end + 8), 1); // entries on this disk
        BinaryPrimitives.WriteUInt16LittleEndian(zip.AsSpan(end + 10), 1); // entries in total
        Assert.Contains("more than 10 entries", Refused(zip, Limits with { MaxZipEntries = 10 }).Message);
    }

    [Fact]
    public void Archives_ZipBomb_IsRejectedBeforeExtraction()
    {
        // 64 MiB of zeros deflate to about 64 KiB: a ratio near 1000.
        var zip = WithEntry("TransformerChain/Transform_000/Model.key", new byte[64 << 20]);
        Assert.True(zip.Length < 1 << 20);
        Assert.Contains("expands more than 100 times", Refused(zip).Message);
    }

    [Fact]
    public void Archives_ZipBombSpreadOverSmallEntries_IsRejected()
    {
        // Each entry stays under the per-entry floor; together they still expand about 500 times.
        var zip = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, .. Enumerable.Range(0, 200).Select(i => ($"TransformerChain/part{i}", new byte[60 << 10]))]);
        Assert.Contains("the archive expands more than 100 times", Refused(zip).Message);
    }

    [Fact]
    public void Archives_TotalUncompressedOverLimit_IsTooLarge()
    {
        var random = new Random(1);
        var zip = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, .. Enumerable.Range(0, 3).Select(i =>
        {
            var data = new byte[400 << 10];
            random.NextBytes(data);
            return ($"TransformerChain/w{i}", data);
        })]);
        Assert.Contains("expands to more than", Refused(zip, Limits with { MaxUncompressedBytes = 1 << 20 }, ModelFileException.TooLarge).Message);
    }

    [Fact]
    public void Archives_EntryInflatingPastItsDeclaredSize_IsRejected()
    {
        var data = new byte[100_000];
        new Random(2).NextBytes(data);
        // Stored: System.IO.Compression stops a deflated entry at its declared size, but copies a stored one to its compressed size.
        var zip = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, ("TransformerChain/liar", data)], CompressionLevel.NoCompression);
        // Make both headers claim 1000 bytes uncompressed.
        for (var at = 0; at < zip.Length - 4; at++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at));
            var nameAt = signature == 0x04034b50 ? at + 30 : signature == 0x02014b50 ? at + 46 : -1;
            if (nameAt < 0 || !zip.AsSpan(nameAt).StartsWith("TransformerChain/liar"u8)) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(signature == 0x04034b50 ? at + 22 : at + 24), 1000);
        }
        Assert.Contains("'TransformerChain/liar' expands past the size it declares", Refused(zip).Message);
    }

    [Theory]
    [InlineData("TransformerChain/inner.zip")]
    [InlineData("TransformerChain/Transform_000/Model.key")]
    public void Archives_NestedZipInMlNetModel_IsRejected(string name)
    {
        var inner = MlNetModels.Zip(MlNetModels.LooksLikeMlNet);
        Assert.Contains("nested zip", Refused(MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, (name, inner)])).Message);
    }

    [Fact]
    public void Archives_NestedZipInsideAutoMlMember_IsRejected()
    {
        var deepest = MlNetModels.Zip(MlNetModels.LooksLikeMlNet);
        var member = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, ("TransformerChain/deeper.zip", deepest)]);
        var zip = MlNetModels.Zip([("manifest.json", "{}"u8.ToArray()), ("model-0.zip", member)]);
        var e = Refused(zip);
        Assert.Contains("a member zip", e.Message);
        Assert.Contains("nested zip", e.Message);
    }

    [Theory]
    [InlineData("../../evil")]
    [InlineData("TransformerChain/Model.KEY")]
    public void Archives_AutoMlMemberBreakingTheRules_IsRejected(string name)
    {
        var member = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, (name, new byte[8])]);
        Assert.Contains("a member zip", Refused(MlNetModels.Zip([("manifest.json", "{}"u8.ToArray()), ("model-0.zip", member)])).Message);
    }

    [Fact]
    public void Archives_AutoMlMemberZipBomb_CountsTowardsTheLimits()
    {
        var member = MlNetModels.Zip([.. MlNetModels.LooksLikeMlNet, ("TransformerChain/bomb", new byte[16 << 20])]);
        var zip = MlNetModels.Zip([("manifest.json", "{}"u8.ToArray()), ("model-0.zip", member)], CompressionLevel.NoCompression);
        Assert.Contains("expands more than 100 times", Refused(zip).Message);
    }

    [Theory]
    [InlineData("extra.txt")]
    [InlineData("model-x.zip")]
    public void Archives_AutoMlStrayEntry_IsRejected(string name)
    {
        var member = MlNetModels.Zip(MlNetModels.LooksLikeMlNet);
        Assert.Contains("unexpected entry", Refused(MlNetModels.Zip([("manifest.json", "{}"u8.ToArray()), ("model-0.zip", member), (name, new byte[4])])).Message);
    }

    [Fact]
    public void Archives_TruncatedZip_IsInvalid()
    {
        var zip = MlNetModels.Plain;
        Assert.Contains("cannot be read", Refused(zip[..(zip.Length / 2)]).Message);
    }
}
