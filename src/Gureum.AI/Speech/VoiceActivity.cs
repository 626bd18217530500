namespace Gureum.AI.Speech;

/// <summary>
/// Energy voice-activity detection, only to skip long silent stretches before the decoder sees them (decoding silence
/// costs as much as decoding speech). It is deliberately coarse: pauses shorter than <see cref="BridgeFrames"/> stay
/// inside a segment, and every segment keeps <see cref="PadFrames"/> of context each side, so quiet consonants and
/// word edges are never cut.
/// </summary>
internal static class VoiceActivity
{
    public const int FrameSamples = SpeechRecognizer.SampleRate / 100;   // 10 ms, the decoder's frame
    private const double AbsoluteFloorDb = -55;      // below this (dBFS) a frame is silence whatever the noise
    private const double AboveNoiseDb = 12;          // or this much above the quietest tenth of the frames
    private const int BridgeFrames = 100;            // pauses under 1 s do not split a segment
    private const int PadFrames = 30;                // 0.3 s kept before and after speech
    private const int MinActiveFrames = 5;           // a click shorter than 50 ms is not speech
    private const int MaxSegmentFrames = 3000;       // 30 s: longer speech is cut at its quietest frame

    /// <summary>Sample ranges worth decoding, in order and not overlapping.</summary>
    public static List<Range> Segments(ReadOnlySpan<short> audio)
    {
        var energy = FrameEnergies(audio);
        var threshold = Math.Max(AbsoluteFloorDb, Percentile(energy, 0.10) + AboveNoiseDb);

        var segments = new List<(int Start, int End)>();
        int start = -1, last = -1, active = 0;
        for (var f = 0; f < energy.Length; f++)
        {
            if (energy[f] < threshold) continue;
            if (start >= 0 && f - last > BridgeFrames)
            {
                if (active >= MinActiveFrames) segments.Add((start, last + 1));
                start = -1;
            }
            if (start < 0) { start = f; active = 0; }
            last = f;
            active++;
        }
        if (start >= 0 && active >= MinActiveFrames) segments.Add((start, last + 1));

        // Segments are more than BridgeFrames apart, so their padding never overlaps.
        var ranges = new List<Range>();
        foreach (var (s, e) in segments)
        {
            var from = Math.Max(0, s - PadFrames);
            var to = Math.Min(energy.Length, e + PadFrames);
            foreach (var (a, b) in Split(energy, from, to))
                ranges.Add(new Range(a * FrameSamples, Math.Min(audio.Length, b * FrameSamples)));
        }
        return ranges;
    }

    /// <summary>Cuts [from, to) into pieces of at most MaxSegmentFrames at the quietest frame of each piece's second half.</summary>
    private static IEnumerable<(int, int)> Split(double[] energy, int from, int to)
    {
        while (to - from > MaxSegmentFrames)
        {
            var cut = from + MaxSegmentFrames / 2;
            for (var f = cut; f < from + MaxSegmentFrames; f++)
                if (energy[f] < energy[cut]) cut = f;
            yield return (from, cut);
            from = cut;
        }
        yield return (from, to);
    }

    private static double[] FrameEnergies(ReadOnlySpan<short> audio)
    {
        var energy = new double[(audio.Length + FrameSamples - 1) / FrameSamples];
        for (var f = 0; f < energy.Length; f++)
        {
            var frame = audio.Slice(f * FrameSamples, Math.Min(FrameSamples, audio.Length - f * FrameSamples));
            long sum = 0;
            foreach (var s in frame) sum += s * s;
            var meanSquare = sum / (double)frame.Length / (32768.0 * 32768.0);
            energy[f] = 10 * Math.Log10(meanSquare + 1e-10);    // dBFS, -100 for digital silence
        }
        return energy;
    }

    private static double Percentile(double[] values, double p)
    {
        if (values.Length == 0) return AbsoluteFloorDb;
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[(int)(p * (sorted.Length - 1))];
    }
}
