using System.Buffers.Binary;

namespace Gureum.AI.Speech;

public sealed record AudioLimits(double MaxSeconds = 3600, int MaxSampleRate = 192_000, int MaxChannels = 8);

/// <summary>PCM audio as 16-bit samples, interleaved by channel.</summary>
public sealed record AudioClip(short[] Samples, int SampleRate, int Channels)
{
    public double Seconds => Samples.Length / (double)Channels / SampleRate;
}

/// <summary>RIFF/WAVE reading and writing, and conversion for the recogniser.</summary>
public static class Wav
{
    /// <summary>The data size a streaming writer puts in the header when the length is not known yet.</summary>
    public const uint UnknownLength = 0xFFFFFFFF;

    /// <summary>
    /// Reads PCM 8/16/24/32-bit or IEEE float WAV of any rate and channel count. A header that lies (data chunk longer
    /// than the file, zero rate, absurd block align), a non-WAV body or a non-PCM codec is an <see cref="AiInputException"/>
    /// naming "file"; over a limit is 413 naming the limit.
    /// </summary>
    /// <remarks>
    /// A data chunk claiming more bytes than follow is refused (400: a truncated upload should not pass as shorter
    /// audio), except the placeholder sizes of 2 GiB and up that streaming writers leave in the header
    /// (<see cref="UnknownLength"/> from us and ffmpeg, sox's and arecord's near 2^31): then the data runs to the end of
    /// the file. A trailing partial frame is dropped. Nothing is allocated beyond what the bytes present can fill.
    /// </remarks>
    public static AudioClip Read(ReadOnlySpan<byte> data, AudioLimits limits) =>
        WavReader.Read(data, limits);

    /// <summary>A 44-byte canonical header; for streaming pass dataBytes = uint.MaxValue-like unknown sizes as 0xFFFFFFFF.</summary>
    public static byte[] Header(int sampleRate, int channels, uint dataBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, ushort.MaxValue / 2);
        var h = new byte[44];
        var s = h.AsSpan();
        "RIFF"u8.CopyTo(s);
        // The RIFF size is 36 + data; an unknown or too long data size saturates instead of wrapping around.
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], dataBytes > uint.MaxValue - 36 ? UnknownLength : dataBytes + 36);
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);                      // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)sampleRate * (uint)channels * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], (ushort)(channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], dataBytes);
        return h;
    }

    /// <summary>Mixes to mono and resamples (band-limited) to <paramref name="rate"/>.</summary>
    public static short[] ToMono(AudioClip clip, int rate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        return Resampler.Resample(Mix(clip), clip.SampleRate, rate);
    }

    /// <summary>The average of the channels, so a stereo file of the same signal keeps its level.</summary>
    private static short[] Mix(AudioClip clip)
    {
        if (clip.Channels == 1) return clip.Samples;
        var channels = clip.Channels;
        var mono = new short[clip.Samples.Length / channels];
        for (int f = 0, i = 0; f < mono.Length; f++)
        {
            var sum = 0;
            for (var end = i + channels; i < end; i++) sum += clip.Samples[i];
            mono[f] = (short)((sum + (sum < 0 ? -channels : channels) / 2) / channels);   // rounded half away from zero
        }
        return mono;
    }
}
