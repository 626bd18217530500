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
    /// <summary>
    /// Reads PCM 8/16/24/32-bit or IEEE float WAV of any rate and channel count. A header that lies (data chunk longer
    /// than the file, zero rate, absurd block align), a non-WAV body or a non-PCM codec is an <see cref="AiInputException"/>
    /// naming "file"; over a limit is 413 naming the limit.
    /// </summary>
    public static AudioClip Read(ReadOnlySpan<byte> data, AudioLimits limits) => throw new NotImplementedException();

    /// <summary>A 44-byte canonical header; for streaming pass dataBytes = uint.MaxValue-like unknown sizes as 0xFFFFFFFF.</summary>
    public static byte[] Header(int sampleRate, int channels, uint dataBytes) => throw new NotImplementedException();

    /// <summary>Mixes to mono and resamples (band-limited) to <paramref name="rate"/>.</summary>
    public static short[] ToMono(AudioClip clip, int rate) => throw new NotImplementedException();
}
