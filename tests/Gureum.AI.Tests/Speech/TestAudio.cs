using System.Buffers.Binary;
using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

/// <summary>WAV files built field by field, so a test can make any header lie it needs, and signal measurements.</summary>
internal static class TestAudio
{
    public static byte[] Wav(int codec = 1, int channels = 1, int rate = 16_000, int bits = 16, byte[]? data = null,
        int? blockAlign = null, uint? dataSize = null, params byte[][] extraChunks)
    {
        data ??= new byte[channels * bits / 8 * 100];
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8);
        w.Write(0u);                     // readers must not trust this; ours ignores it
        w.Write("WAVE"u8);
        foreach (var chunk in extraChunks) w.Write(chunk);
        w.Write("fmt "u8);
        w.Write(16);
        w.Write((ushort)codec);
        w.Write((ushort)channels);
        w.Write(rate);
        w.Write(rate * channels * bits / 8);
        w.Write((ushort)(blockAlign ?? channels * bits / 8));
        w.Write((ushort)bits);
        w.Write("data"u8);
        w.Write(dataSize ?? (uint)data.Length);
        w.Write(data);
        return ms.ToArray();
    }

    public static byte[] Chunk(string id, int size)
    {
        var chunk = new byte[8 + size + (size & 1)];
        System.Text.Encoding.ASCII.GetBytes(id).CopyTo(chunk, 0);
        BinaryPrimitives.WriteInt32LittleEndian(chunk.AsSpan(4), size);
        return chunk;
    }

    public static byte[] Pcm16(ReadOnlySpan<short> samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 2), samples[i]);
        return bytes;
    }

    public static short[] Sine(double hz, int rate, double seconds, double amplitude) =>
        [.. Enumerable.Range(0, (int)(rate * seconds)).Select(i => (short)Math.Round(amplitude * 32767 * Math.Sin(2 * Math.PI * hz * i / rate)))];

    /// <summary>Amplitude of the <paramref name="hz"/> component (Goertzel over the middle, away from the edges).</summary>
    public static double AmplitudeAt(ReadOnlySpan<short> samples, int rate, double hz)
    {
        var middle = samples.Slice(samples.Length / 4, samples.Length / 2);
        double re = 0, im = 0;
        for (var i = 0; i < middle.Length; i++)
        {
            var phase = 2 * Math.PI * hz * i / rate;
            re += middle[i] * Math.Cos(phase);
            im += middle[i] * Math.Sin(phase);
        }
        return 2 * Math.Sqrt(re * re + im * im) / middle.Length / 32767;
    }

    public static double Rms(ReadOnlySpan<short> samples)
    {
        double sum = 0;
        foreach (var s in samples) sum += (double)s * s;
        return samples.IsEmpty ? 0 : Math.Sqrt(sum / samples.Length) / 32768;
    }

    public static AudioClip Clip(short[] samples, int rate) => new(samples, rate, 1);
}
