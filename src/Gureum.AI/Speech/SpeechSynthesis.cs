namespace Gureum.AI.Speech;

/// <param name="Id">What callers pass as "voice", e.g. "en-us" (eSpeak NG) or "flite:slt".</param>
public sealed record Voice(string Id, string Name, string Language, string Engine, string? Gender);

/// <param name="Rate">Words per minute, 80–450.</param>
/// <param name="Pitch">0–100, 50 normal (eSpeak; ignored by voices that cannot change it).</param>
/// <param name="SampleRate">Output rate; synthesised audio is resampled when it differs from the voice's own.</param>
public sealed record TtsOptions(string Voice = "en-us", int Rate = 175, int Pitch = 50, int? SampleRate = null);

/// <summary>
/// Text to speech over eSpeak NG (global state: calls are serialised inside) and Flite voices when installed.
/// Constructor throws <see cref="EngineUnavailableException"/> when no engine library is installed.
/// </summary>
public sealed class SpeechSynthesizer : IDisposable
{
    public SpeechSynthesizer() => throw new NotImplementedException();

    public IReadOnlyList<Voice> Voices => throw new NotImplementedException();

    /// <summary>The rate the audio will have for these options (before any sample is produced, for the WAV header).</summary>
    public int OutputRate(TtsOptions options) => throw new NotImplementedException();

    /// <summary>
    /// Synthesises mono 16-bit audio, calling <paramref name="onAudio"/> as chunks are produced (sentence by sentence for
    /// long text) so the server can stream. Unknown voice → <see cref="AiInputException"/> 422 naming "voice"; rate or
    /// pitch out of range → 400 naming it.
    /// </summary>
    public void Synthesize(string text, TtsOptions options, Action<ReadOnlySpan<short>> onAudio, CancellationToken ct)
        => throw new NotImplementedException();

    public void Dispose() { }
}
