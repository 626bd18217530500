namespace Gureum.AI.Speech;

/// <param name="Start">Seconds from the start of the audio.</param>
/// <param name="Confidence">0–1.</param>
public sealed record RecognizedWord(string Word, double Start, double End, double Confidence);

public sealed record Transcript(string Text, double Seconds, IReadOnlyList<RecognizedWord> Words);

/// <summary>
/// One PocketSphinx decoder (US English); not thread-safe, one per pool worker (~150 MB). Constructor throws
/// <see cref="EngineUnavailableException"/> when the library or the acoustic model is missing.
/// </summary>
public sealed class SpeechRecognizer : IDisposable
{
    public const int SampleRate = 16_000;

    public SpeechRecognizer() => throw new NotImplementedException();

    /// <summary>Languages the installed models cover (en-US).</summary>
    public static IReadOnlyList<string> Languages => throw new NotImplementedException();

    /// <summary>Decodes 16 kHz mono audio (see <see cref="Wav.ToMono"/>). Silence gives an empty transcript.</summary>
    public Transcript Recognize(ReadOnlySpan<short> mono16k, CancellationToken ct) => throw new NotImplementedException();

    public void Dispose() { }
}
