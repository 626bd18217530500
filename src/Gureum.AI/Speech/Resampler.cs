using System.Numerics;

namespace Gureum.AI.Speech;

/// <summary>
/// Band-limited resampling with a Kaiser-windowed sinc, precomputed per output phase (polyphase). The cut-off sits at
/// 92% of the lower of the two Nyquist frequencies, so nothing above the target's Nyquist folds back as an alias and
/// the kernel is normalised per phase so a constant stays constant.
/// </summary>
internal sealed class Resampler
{
    private const int ZeroCrossings = 16;      // per side: ~80 dB stop band together with the Kaiser window
    private const double Rolloff = 0.92;
    private const double KaiserBeta = 8.6;
    private const int MaxPhases = 1024;        // beyond this, phases are rounded (≤ 1/2048 sample of timing error)

    private readonly int _from;
    private readonly int _to;
    private readonly int _half;
    private readonly int _phases;
    private readonly float[] _kernels;         // _phases rows of 2·_half taps

    public Resampler(int from, int to)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(from);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(to);
        _from = from;
        _to = to;
        var cutoff = Rolloff * 0.5 * Math.Min(1.0, (double)to / from);   // cycles per input sample
        _half = (int)Math.Ceiling(ZeroCrossings / (2 * cutoff));
        _phases = (int)Math.Min(to / Gcd(from, to), MaxPhases);
        var taps = 2 * _half;
        _kernels = new float[_phases * taps];
        for (var p = 0; p < _phases; p++)
        {
            var row = _kernels.AsSpan(p * taps, taps);
            var offset = (double)p / _phases;
            var sum = 0.0;
            for (var k = 0; k < taps; k++)
            {
                // Tap k reads input sample i - half + 1 + k for an output at input time i + offset.
                var x = offset + _half - 1 - k;
                var v = Sinc(2 * cutoff * x) * Kaiser(x / _half);
                row[k] = (float)v;
                sum += v;
            }
            for (var k = 0; k < taps; k++) row[k] = (float)(row[k] / sum);
        }
    }

    public static short[] Resample(ReadOnlySpan<short> input, int from, int to) =>
        from == to ? input.ToArray() : new Resampler(from, to).Process(input);

    public short[] Process(ReadOnlySpan<short> input)
    {
        const int Block = 4096;   // outputs per block: their input is copied to floats once, zeros past either end
        var outLength = (int)(((long)input.Length * _to + _from - 1) / _from);
        var output = new short[outLength];
        var taps = 2 * _half;
        var window = new float[(int)((long)Block * _from / _to) + taps + 2];
        for (var block = 0; block < outLength; block += Block)
        {
            var end = Math.Min(outLength, block + Block);
            var windowStart = Locate(block).Input - _half + 1;
            for (var w = 0; w < window.Length; w++)
            {
                var j = windowStart + w;
                window[w] = j >= 0 && j < input.Length ? input[(int)j] : 0;
            }
            for (var n = block; n < end; n++)
            {
                var (i, phase) = Locate(n);
                var acc = Dot(_kernels.AsSpan(phase * taps, taps), window.AsSpan((int)(i - _half + 1 - windowStart), taps));
                output[n] = (short)Math.Clamp(MathF.Round(acc), short.MinValue, short.MaxValue);
            }
        }
        return output;
    }

    /// <summary>The input sample at or before output <paramref name="n"/>, and the kernel phase for the rest.</summary>
    private (long Input, int Phase) Locate(long n)
    {
        var position = n * _from;
        var i = position / _to;
        var phase = (int)((position % _to * _phases + _to / 2) / _to);
        return phase == _phases ? (i + 1, 0) : (i, phase);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sums = Vector<float>.Zero;
        var k = 0;
        for (; k <= a.Length - Vector<float>.Count; k += Vector<float>.Count)
            sums += new Vector<float>(a[k..]) * new Vector<float>(b[k..]);
        var sum = Vector.Sum(sums);
        for (; k < a.Length; k++) sum += a[k] * b[k];
        return sum;
    }

    private static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static double Kaiser(double t) =>
        Math.Abs(t) >= 1 ? 0 : BesselI0(KaiserBeta * Math.Sqrt(1 - t * t)) / BesselI0(KaiserBeta);

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (var k = 1; term > 1e-12 * sum; k++)
        {
            term *= q / (k * k);
            sum += term;
        }
        return sum;
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}
