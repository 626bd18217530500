using System.Runtime.InteropServices;
using Gureum.AI.Native;

namespace Gureum.AI.Speech;

/// <param name="Start">Seconds from the start of the audio.</param>
/// <param name="Confidence">0–1.</param>
public sealed record RecognizedWord(string Word, double Start, double End, double Confidence);

public sealed record Transcript(string Text, double Seconds, IReadOnlyList<RecognizedWord> Words);

/// <summary>
/// One PocketSphinx decoder (US English); not thread-safe, one per pool worker (~150 MB). Constructor throws
/// <see cref="EngineUnavailableException"/> when the library or the acoustic model is missing.
/// </summary>
/// <remarks>
/// Audio is cut into speech segments first (<see cref="VoiceActivity"/>), so long silences cost nothing, and each
/// segment is decoded as one whole utterance. Every utterance started is ended, even on an exception, so the decoder
/// stays usable after any exception from <see cref="Recognize"/> (cancellation included); the caller need not discard it.
/// </remarks>
public sealed unsafe class SpeechRecognizer : IDisposable
{
    public const int SampleRate = 16_000;
    public const string Packages = "libpocketsphinx3 pocketsphinx-en-us";
    public const string ModelDirectory = "/usr/share/pocketsphinx/model/en-us";
    private const double FrameSeconds = 0.01;

    private static readonly string[] ModelPaths =
        [$"{ModelDirectory}/en-us", $"{ModelDirectory}/en-us.lm.bin", $"{ModelDirectory}/cmudict-en-us.dict"];
    // sphinxbase logs every setting and every utterance to stderr; a null log file turns that off, process-wide.
    private static readonly Lazy<IntPtr> LogSilenced = new(() => SphinxNative.ErrSetLogFile(IntPtr.Zero));

    private readonly SphinxNative.Decoder _decoder;

    public SpeechRecognizer()
    {
        foreach (var path in ModelPaths)
            if (!Path.Exists(path))
                throw new EngineUnavailableException("stt", Packages, $"The PocketSphinx model is missing; install {Packages}.");
        try
        {
            _ = LogSilenced.Value;
            // Batch cepstral mean normalisation over each whole segment: the default live estimate carries over from
            // earlier audio, so the same words would be heard differently depending on what was decoded before.
            _decoder = SphinxNative.Decoder.Create(
                    ["-hmm", ModelPaths[0], "-lm", ModelPaths[1], "-dict", ModelPaths[2], "-cmn", "batch"])
                ?? throw new EngineUnavailableException("stt", Packages, $"PocketSphinx could not load its model; reinstall {Packages}.");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new EngineUnavailableException("stt", Packages, $"PocketSphinx is not installed; install {Packages}.", e);
        }
    }

    /// <summary>Languages the installed models cover (en-US).</summary>
    public static IReadOnlyList<string> Languages => ModelPaths.All(Path.Exists) ? ["en-US"] : [];

    /// <summary>Decodes 16 kHz mono audio (see <see cref="Wav.ToMono"/>). Silence gives an empty transcript.</summary>
    public Transcript Recognize(ReadOnlySpan<short> mono16k, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_decoder.IsClosed, this);
        var words = new List<RecognizedWord>();
        foreach (var segment in VoiceActivity.Segments(mono16k))
        {
            ct.ThrowIfCancellationRequested();
            var (offset, length) = segment.GetOffsetAndLength(mono16k.Length);
            Decode(mono16k.Slice(offset, length), offset / (double)SampleRate, words);
        }
        return new Transcript(string.Join(' ', words.Select(w => w.Word)), mono16k.Length / (double)SampleRate, words);
    }

    private void Decode(ReadOnlySpan<short> audio, double offsetSeconds, List<RecognizedWord> words)
    {
        // A new stream per segment: word frames count from the stream start, not from the utterance.
        Check(SphinxNative.StartStream(_decoder), "ps_start_stream");
        Check(SphinxNative.StartUtt(_decoder), "ps_start_utt");
        try
        {
            fixed (short* p = audio) Check(SphinxNative.ProcessRaw(_decoder, p, (nuint)audio.Length, 0, 1), "ps_process_raw");
        }
        finally
        {
            Check(SphinxNative.EndUtt(_decoder), "ps_end_utt");
        }
        var logmath = SphinxNative.GetLogMath(_decoder);
        for (var seg = SphinxNative.SegIter(_decoder); seg != IntPtr.Zero; seg = SphinxNative.SegNext(seg))
        {
            var word = Marshal.PtrToStringUTF8(SphinxNative.SegWord(seg)) ?? "";
            if (IsFiller(word)) continue;
            SphinxNative.SegFrames(seg, out var startFrame, out var endFrame);
            var posterior = SphinxNative.LogMathExp(logmath, SphinxNative.SegProb(seg, out _, out _, out _));
            words.Add(new RecognizedWord(BaseForm(word), offsetSeconds + startFrame * FrameSeconds,
                offsetSeconds + (endFrame + 1) * FrameSeconds, Math.Clamp(posterior, 0, 1)));
        }
    }

    /// <summary>Sentence marks, silence and noise words: &lt;s&gt;, &lt;/s&gt;, &lt;sil&gt;, [NOISE], ++UM++.</summary>
    private static bool IsFiller(string word) => word.Length == 0 || word[0] is '<' or '[' or '+';

    /// <summary>Alternative pronunciations are spelled "read(2)" in the dictionary.</summary>
    private static string BaseForm(string word) => word.IndexOf('(') is > 0 and var i ? word[..i] : word;

    private static void Check(int status, string call)
    {
        if (status < 0) throw new InvalidOperationException($"PocketSphinx {call} failed ({status}).");
    }

    public void Dispose() => _decoder.Dispose();
}
