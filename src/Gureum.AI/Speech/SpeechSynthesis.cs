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
/// <remarks>
/// The engines are process-wide and loaded once, so instances are cheap and thread-safe; eSpeak NG calls queue behind
/// one lock and Flite calls behind another. Flite voices ignore <see cref="TtsOptions.Pitch"/>.
/// </remarks>
public sealed class SpeechSynthesizer : IDisposable
{
    public const int MinRate = 80, MaxRate = 450, MinPitch = 0, MaxPitch = 100;
    public const int MinSampleRate = 8_000, MaxSampleRate = 192_000;

    private readonly Dictionary<string, Voice> _byId;

    public SpeechSynthesizer()
    {
        var voices = new List<Voice>();
        EngineUnavailableException? espeakMissing = null;
        try { voices.AddRange(ESpeakEngine.Voices); }
        catch (EngineUnavailableException e) { espeakMissing = e; }
        voices.AddRange(FliteEngine.Voices);
        if (voices.Count == 0)
            throw espeakMissing ?? new EngineUnavailableException("tts", ESpeakEngine.Packages,
                $"No speech synthesiser is installed; install {ESpeakEngine.Packages}.");
        Voices = voices;
        _byId = voices.ToDictionary(v => v.Id, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<Voice> Voices { get; }

    /// <summary>The rate the audio will have for these options (before any sample is produced, for the WAV header).</summary>
    public int OutputRate(TtsOptions options) => Check(options).OutputRate;

    /// <summary>
    /// Synthesises mono 16-bit audio, calling <paramref name="onAudio"/> as chunks are produced (sentence by sentence for
    /// long text) so the server can stream. Unknown voice → <see cref="AiInputException"/> 422 naming "voice"; rate or
    /// pitch out of range → 400 naming it.
    /// </summary>
    /// <remarks>Cancellation is checked between sentences (and inside an eSpeak sentence); it throws.</remarks>
    public void Synthesize(string text, TtsOptions options, Action<ReadOnlySpan<short>> onAudio, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(onAudio);
        var (voice, nativeRate, outputRate) = Check(options);
        foreach (var sentence in Sentences.Split(text))
        {
            ct.ThrowIfCancellationRequested();
            var samples = voice.Engine == "flite"
                ? FliteEngine.Speak(sentence, voice.Id, options.Rate)
                : ESpeakEngine.Speak(sentence, voice.Id, options.Rate, options.Pitch, ct);
            ct.ThrowIfCancellationRequested();
            if (nativeRate != outputRate) samples = Resampler.Resample(samples, nativeRate, outputRate);
            if (samples.Length > 0) onAudio(samples);
        }
    }

    /// <summary>Nothing to free: the engines live for the process.</summary>
    public void Dispose() { }

    private (Voice Voice, int NativeRate, int OutputRate) Check(TtsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Rate is < MinRate or > MaxRate)
            throw new AiInputException("rate", $"rate is {options.Rate}; use {MinRate}–{MaxRate} words per minute.");
        if (options.Pitch is < MinPitch or > MaxPitch)
            throw new AiInputException("pitch", $"pitch is {options.Pitch}; use {MinPitch}–{MaxPitch} (50 is normal).");
        if (options.SampleRate is < MinSampleRate or > MaxSampleRate)
            throw new AiInputException("sampleRate",
                $"sampleRate is {options.SampleRate}; use {MinSampleRate}–{MaxSampleRate} Hz.");
        if (options.Voice is null || !_byId.TryGetValue(options.Voice, out var voice))
            throw AiInputException.Unusable("voice", $"Unknown voice '{options.Voice}'; try {string.Join(", ", Suggest(options.Voice))} " +
                $"(one of {Voices.Count}, listed by the voices endpoint).");
        var nativeRate = voice.Engine == "flite" ? FliteEngine.SampleRate(voice.Id) : ESpeakEngine.SampleRate;
        return (voice, nativeRate, options.SampleRate ?? nativeRate);
    }

    /// <summary>A few voices that share the asked-for id's first two letters, then the common ones.</summary>
    private IEnumerable<string> Suggest(string? asked)
    {
        var prefix = asked is { Length: >= 2 } ? asked[..2] : "\0";
        return Voices.Where(v => v.Id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).Take(4)
            .Concat(Voices.Where(v => v.Id is "en-us" or "ko" or "flite:slt" or "flite:kal"))
            .Select(v => v.Id).Distinct();
    }
}
