using System.Buffers.Binary;
using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

public sealed class WavTests
{
    private static readonly AudioLimits Limits = new();

    [Fact]
    public void Read_Pcm16_ReturnsTheSamples()
    {
        short[] samples = [0, 1000, -1000, short.MaxValue, short.MinValue];

        var clip = Wav.Read(TestAudio.Wav(data: TestAudio.Pcm16(samples), rate: 22_050), Limits);

        Assert.Equal(samples, clip.Samples);
        Assert.Equal(22_050, clip.SampleRate);
        Assert.Equal(1, clip.Channels);
    }

    [Theory]
    [InlineData(8, new byte[] { 0x80, 0xFF, 0x00 }, new short[] { 0, 127 << 8, -32768 })]
    [InlineData(24, new byte[] { 0x00, 0x00, 0x40, 0xFF, 0xFF, 0xFF }, new short[] { 16384, -1 })]
    [InlineData(32, new byte[] { 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x01, 0x00 }, new short[] { -32768, 1 })]
    public void Read_OtherPcmWidths_ScaleTo16Bits(int bits, byte[] data, short[] expected) =>
        Assert.Equal(expected, Wav.Read(TestAudio.Wav(bits: bits, data: data), Limits).Samples);

    [Fact]
    public void Read_Float32_ScalesAndClips()
    {
        var data = new byte[16];
        float[] values = [0.5f, -1f, 2f, float.NaN];
        for (var i = 0; i < 4; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);

        var clip = Wav.Read(TestAudio.Wav(codec: 3, bits: 32, data: data), Limits);

        Assert.Equal([16384, -32767, 32767, 0], clip.Samples);
    }

    [Fact]
    public void Read_Extensible_UsesTheSubformat()
    {
        var wav = TestAudio.Wav(data: TestAudio.Pcm16([7, 8]));
        var extensible = Extensible(wav, subformat: 1);

        Assert.Equal([7, 8], Wav.Read(extensible, Limits).Samples);
    }

    [Fact]
    public void Read_SkipsUnknownChunks_IncludingOddSizedOnesWithTheirPadding()
    {
        var wav = TestAudio.Wav(data: TestAudio.Pcm16([42]), extraChunks: [TestAudio.Chunk("LIST", 3), TestAudio.Chunk("junk", 0)]);

        Assert.Equal([42], Wav.Read(wav, Limits).Samples);
    }

    [Fact]
    public void Read_EightChannels24Bit_IsAccepted()
    {
        var clip = Wav.Read(TestAudio.Wav(channels: 8, bits: 24, rate: 96_000, data: new byte[8 * 3 * 10]), Limits);

        Assert.Equal(8, clip.Channels);
        Assert.Equal(80, clip.Samples.Length);
    }

    [Theory]
    [InlineData(0xFFFFFFFFu)]   // ours, ffmpeg writing to a pipe
    [InlineData(0x7FFFF000u)]   // sox
    [InlineData(0x7FFFFFFFu)]   // arecord
    public void Read_StreamingSizePlaceholder_ReadsToTheEnd_DroppingAPartialFrame(uint placeholder)
    {
        var wav = TestAudio.Wav(data: [1, 0, 2, 0, 3], dataSize: placeholder);

        Assert.Equal([1, 2], Wav.Read(wav, Limits).Samples);
    }

    [Fact]
    public void Header_RoundTripsThroughRead_AndSaturatesForStreaming()
    {
        var pcm = TestAudio.Pcm16([1, 2, 3, 4]);
        var clip = Wav.Read([.. Wav.Header(8_000, 2, (uint)pcm.Length), .. pcm], Limits);
        Assert.Equal((8_000, 2), (clip.SampleRate, clip.Channels));
        Assert.Equal([1, 2, 3, 4], clip.Samples);

        var streaming = Wav.Header(16_000, 1, Wav.UnknownLength);
        Assert.Equal(44, streaming.Length);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(streaming.AsSpan(4)));
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(streaming.AsSpan(40)));
        Assert.Equal([5, 6], Wav.Read([.. streaming, .. TestAudio.Pcm16([5, 6])], Limits).Samples);
    }

    [Theory]
    [InlineData(44_100)]
    [InlineData(8_000)]
    [InlineData(22_050)]
    public void ToMono_Resampling_KeepsASineFrequencyAndAmplitude(int from)
    {
        var sine = TestAudio.Sine(1_000, from, 1.0, 0.5);

        var output = Wav.ToMono(TestAudio.Clip(sine, from), 16_000);

        Assert.Equal(16_000, output.Length);
        Assert.InRange(TestAudio.AmplitudeAt(output, 16_000, 1_000), 0.495, 0.505);
        // Nearly all the energy is still at 1 kHz: the RMS of a pure sine of amplitude 0.5 is 0.354.
        Assert.InRange(TestAudio.Rms(output.AsSpan(4_000, 8_000)), 0.350, 0.357);
    }

    [Fact]
    public void ToMono_Downsampling_RemovesToneAboveTheNewNyquist()
    {
        // 10 kHz cannot exist at 16 kHz; picking samples would fold it to 6 kHz at full level.
        var sine = TestAudio.Sine(10_000, 44_100, 1.0, 0.5);

        var output = Wav.ToMono(TestAudio.Clip(sine, 44_100), 16_000);

        Assert.True(TestAudio.Rms(output.AsSpan(4_000, 8_000)) < 0.001);
    }

    [Fact]
    public void ToMono_AveragesChannels()
    {
        var clip = new AudioClip([100, 300, -200, 0], 16_000, 2);

        Assert.Equal([200, -100], Wav.ToMono(clip, 16_000));
    }

    /// <summary>Rewrites a canonical 16-byte fmt chunk as a 40-byte WAVE_FORMAT_EXTENSIBLE one.</summary>
    internal static byte[] Extensible(byte[] wav, int subformat)
    {
        var fmt = wav.AsSpan(20, 16).ToArray();
        var ext = new byte[40];
        fmt.CopyTo(ext, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(ext, 0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(ext.AsSpan(16), 22);
        BinaryPrimitives.WriteUInt16LittleEndian(ext.AsSpan(18), BinaryPrimitives.ReadUInt16LittleEndian(fmt.AsSpan(14)));
        BinaryPrimitives.WriteUInt16LittleEndian(ext.AsSpan(24), (ushort)subformat);
        byte[] tail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];
        tail.CopyTo(ext, 26);
        byte[] header = [.. wav.AsSpan(0, 12), .. "fmt "u8, 40, 0, 0, 0];
        return [.. header, .. ext, .. wav.AsSpan(36)];
    }
}
