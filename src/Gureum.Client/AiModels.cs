using System.Text.Json;

namespace Gureum.Client;

/// <summary>One AI engine of the server: <see cref="Status"/> is ready, starting or unavailable (<see cref="Reason"/> names the packages to install).</summary>
/// <param name="Pending">Calls waiting for a free worker.</param>
public sealed record AiEngine(string Name, string Status, string? Reason, int Workers, int Pending);

/// <summary>The server's limits on AI calls; a call over one answers 413 (or 422) naming its setting.</summary>
public sealed record AiLimits(
    long MaxImageBytes, long MaxImagePixels, int MaxImageDimension, int MaxPages, int MaxSyncPages, int MaxTtsCharacters, long MaxAudioBytes,
    double MaxAudioSeconds, double MaxSyncAudioSeconds, int MaxTranslateTexts, int MaxTranslateCharacters);

public sealed record LanguageList(IReadOnlyList<string> Languages);

public sealed record TranslationPair(string Source, string Target);

public sealed record TranslationPairList(IReadOnlyList<TranslationPair> Pairs);

/// <summary>What an AI call was metered as, e.g. 3 pages or 18 characters.</summary>
public sealed record AiUnits(string Meter, double Quantity);

/// <summary>Pixels from the top-left corner of the image.</summary>
public readonly record struct BoundingBox(int X, int Y, int Width, int Height);

/// <param name="Confidence">0–100, as Tesseract reports it.</param>
public sealed record OcrWord(string Text, BoundingBox Box, float Confidence);

public sealed record OcrLine(string Text, BoundingBox Box, float Confidence, IReadOnlyList<OcrWord> Words);

/// <param name="Number">1-based.</param>
public sealed record OcrPage(int Number, int Width, int Height, string Text, float Confidence, IReadOnlyList<OcrLine> Lines);

/// <summary>The text of an image or document; <see cref="Text"/> joins the pages with a form feed.</summary>
public sealed record OcrResult(string Languages, string Text, IReadOnlyList<OcrPage> Pages, AiUnits Units);

/// <summary>Text to speak; null fields take the server's defaults.</summary>
/// <param name="Voice">A voice id from <see cref="GureumClient.VoicesAsync"/>; default en-us.</param>
/// <param name="Rate">Words per minute, 80–450; default 175.</param>
/// <param name="Pitch">0–100, 50 normal.</param>
/// <param name="Format">wav (default) or pcm (raw 16-bit little-endian mono).</param>
/// <param name="SampleRate">8000–48000; default the voice's own.</param>
public sealed record TtsRequest(string Text, string? Voice = null, int? Rate = null, int? Pitch = null, string? Format = null, int? SampleRate = null);

/// <summary>What <see cref="GureumClient.SpeakAsync"/> wrote: audio/wav, or audio/L16 for pcm; <see cref="SampleRate"/> 0 when the server did not say.</summary>
public sealed record SpokenAudio(string ContentType, int SampleRate);

public sealed record Voice(string Id, string Name, string Language, string Engine, string? Gender);

public sealed record VoiceList(IReadOnlyList<Voice> Items);

/// <summary>A recognised word; <see cref="Start"/> and <see cref="End"/> are seconds from the start of the audio.</summary>
public sealed record TranscribedWord(string Word, double Start, double End, double Confidence);

public sealed record Transcript(string Language, string Text, double Seconds, IReadOnlyList<TranscribedWord> Words, AiUnits Units);

public sealed record Translation(string Target, string Text);

/// <summary>One text with its translation into each target, in the order asked.</summary>
public sealed record TranslatedText(string Text, IReadOnlyList<Translation> Translations);

public sealed record TranslateResult(string Source, IReadOnlyList<TranslatedText> Results, AiUnits Units);

public sealed record DetectedFace(BoundingBox Box, double Confidence);

/// <summary>The faces found in an image of <see cref="Width"/> × <see cref="Height"/> pixels.</summary>
public sealed record FacesResult(int Width, int Height, IReadOnlyList<DetectedFace> Faces, AiUnits Units);

/// <summary>
/// An asynchronous OCR or STT call (a document of several pages, long audio): <see cref="Status"/> is notStarted, running,
/// succeeded (<see cref="Result"/> is set) or failed (<see cref="Error"/> says why).
/// </summary>
public sealed record AiOperation(
    string Id, string Kind, string Status, double PercentDone, string? Message, DateTimeOffset CreatedAt, DateTimeOffset? LastUpdatedAt,
    DateTimeOffset ExpiresAt, JsonElement? Result, string? Error)
{
    public bool IsTerminal => Status is "succeeded" or "failed";

    /// <summary>The result as <typeparamref name="T"/> (<see cref="OcrResult"/> or <see cref="Transcript"/>); default until it succeeded.</summary>
    public T? ResultAs<T>() => Result is { ValueKind: JsonValueKind.Object } result ? result.Deserialize<T>(GureumClient.JsonOptions) : default;
}

/// <summary>The answer to an OCR or STT call: its <see cref="Result"/> at once, or an <see cref="Operation"/> to wait for.</summary>
public sealed record AiAnswer<T>(T? Result, AiOperation? Operation) where T : class;
