using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

/// <summary>
/// SECURITY-TESTS.md, "Requests" (bodies over the limits → 413, formats we do not take → 415) and "Archives and model
/// files" (truncated or lying files → 4xx with bounded memory), for uploaded audio.
/// </summary>
public sealed class WavSecurityTests
{
    private static readonly AudioLimits Limits = new();

    private static AiInputException Refused(byte[] wav, int status, AudioLimits? limits = null)
    {
        var e = Assert.Throws<AiInputException>(() => Wav.Read(wav, limits ?? Limits));
        Assert.Equal(status, e.Status);
        return e;
    }

    [Fact]
    public void Requests_EmptyFile_Is400()
    {
        var e = Refused([], 400);
        Assert.Equal("file", e.Field);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData("ID3\u0004 this is an mp3")]
    [InlineData("OggS")]
    [InlineData("RIFF\0\0\0\0AVI LIST")]
    [InlineData("RF64\u00ff\u00ff\u00ff\u00ffWAVE")]
    public void Requests_NotRiffWave_Is415(string start) =>
        Assert.Equal("file", Refused([.. start.Select(c => (byte)c), .. new byte[64]], 415).Field);

    [Theory]
    [InlineData(0x0055, "MP3")]
    [InlineData(0x0011, "IMA ADPCM")]
    [InlineData(0x1234, "0x1234")]
    public void Requests_NonPcmCodec_Is415NamingTheCodec(int codec, string name) =>
        Assert.Contains(name, Refused(TestAudio.Wav(codec: codec), 415).Message);

    [Fact]
    public void Requests_ExtensibleWithAnUnknownSubformat_Is415() =>
        Refused(WavTests.Extensible(TestAudio.Wav(), subformat: 0x0055), 415);

    [Fact]
    public void ArchivesAndModelFiles_DataSizeBeyondTheFile_IsRefusedWithoutReadingPastIt()
    {
        var e = Refused(TestAudio.Wav(data: new byte[100], dataSize: 2_000_000_000), 400);
        Assert.Contains("2000000000", e.Message);
        Assert.Contains("100", e.Message);
    }

    [Fact]
    public void ArchivesAndModelFiles_ChunkSizesThatOverflow_AreRefused()
    {
        // A chunk claiming 4 GB before fmt would wrap a 32-bit offset back into the file.
        var wav = TestAudio.Wav(extraChunks: [[.. "junk"u8, 0xF8, 0xFF, 0xFF, 0xFF]]);
        Assert.Contains("fmt", Refused(wav, 400).Message);
    }

    [Theory]
    [InlineData(0, 16_000, null, "0 channels")]
    [InlineData(1, 0, null, "0 Hz")]
    [InlineData(2, 16_000, 3, "Block align is 3")]
    [InlineData(1, 16_000, 64, "Block align is 64")]
    public void ArchivesAndModelFiles_ImpossibleFormat_Is400SayingWhat(int channels, int rate, int? blockAlign, string what)
    {
        var e = Refused(TestAudio.Wav(channels: channels, rate: rate, blockAlign: blockAlign, data: new byte[8]), 400);
        Assert.Equal("file", e.Field);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void ArchivesAndModelFiles_MissingChunks_Are400()
    {
        var wav = TestAudio.Wav();
        Assert.Contains("No data chunk", Refused(wav[..36], 400).Message);
        Assert.Contains("No fmt chunk", Refused([.. wav[..12], .. TestAudio.Chunk("LIST", 4)], 400).Message);
        Assert.Contains("before the fmt", Refused([.. wav[..12], .. TestAudio.Chunk("data", 4), .. wav[12..]], 400).Message);
    }

    [Theory]
    [InlineData(12, 16_000, 16, "maxChannels", "12")]
    [InlineData(1, 384_000, 16, "maxSampleRate", "384000")]
    public void Requests_FormatOverTheLimits_Is413NamingTheLimitAndValue(int channels, int rate, int bits, string limit, string value)
    {
        var e = Refused(TestAudio.Wav(channels: channels, rate: rate, bits: bits), 413);
        Assert.Equal(limit, e.Field);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void Requests_AudioLongerThanTheLimit_Is413NamingTheLimitAndLength()
    {
        var e = Refused(TestAudio.Wav(rate: 8_000, data: new byte[2 * 8_000 * 3]), 413, new AudioLimits(MaxSeconds: 2));
        Assert.Equal("maxSeconds", e.Field);
        Assert.Contains("3 s", e.Message);
    }

    [Fact]
    public void ArchivesAndModelFiles_RandomCorruption_OnlyEverGives4xx()
    {
        var valid = TestAudio.Wav(channels: 2, data: new byte[400], extraChunks: [TestAudio.Chunk("LIST", 5)]);
        var random = new Random(1234);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            var cut = random.Next(2) == 0 ? bytes : bytes[..random.Next(bytes.Length)];
            try
            {
                Assert.True(Wav.Read(cut, Limits).Samples.Length <= cut.Length, "never more samples than bytes");
            }
            catch (AiInputException e)
            {
                Assert.InRange(e.Status, 400, 499);
            }
        }
    }
}
