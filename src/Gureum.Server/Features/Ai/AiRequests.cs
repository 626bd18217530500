using System.Buffers;
using Gureum.AI;
using Gureum.AI.Faces;
using Gureum.AI.Ocr;
using Gureum.AI.Speech;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Ai;

/// <summary>Text to speak.</summary>
/// <param name="Text">UTF-8 text; at most Gureum:Ai:MaxTtsCharacters characters.</param>
/// <param name="Voice">A voice id from GET .../ai/tts/voices; default en-us.</param>
/// <param name="Rate">Words per minute, 80–450; default 175.</param>
/// <param name="Pitch">0–100, 50 normal.</param>
/// <param name="Format">wav (default) or pcm (raw 16-bit little-endian mono).</param>
/// <param name="SampleRate">Output sample rate, 8000–48000; default the voice's own.</param>
public sealed record TtsRequest(string? Text, string? Voice = null, int? Rate = null, int? Pitch = null, string? Format = null, int? SampleRate = null);

/// <summary>Texts to translate.</summary>
/// <param name="Texts">At most Gureum:Ai:MaxTranslateTexts texts, Gureum:Ai:MaxTranslateCharacters characters in all.</param>
/// <param name="Source">Source language as installed pairs name it (eng, spa, ...).</param>
/// <param name="Target">One target language.</param>
/// <param name="Targets">Several target languages (instead of Target).</param>
public sealed record TranslateRequest(string[]? Texts, string? Source, string? Target = null, string[]? Targets = null);

public sealed record Translation(string Target, string Text);
public sealed record TranslatedText(string Text, IReadOnlyList<Translation> Translations);
public sealed record TranslateResponse(string Source, IReadOnlyList<TranslatedText> Results, Units Units);

public sealed record OcrResponse(string Languages, string Text, IReadOnlyList<OcrPage> Pages, Units Units);
public sealed record SttResponse(string Language, string Text, double Seconds, IReadOnlyList<RecognizedWord> Words, Units Units);
public sealed record FacesResponse(int Width, int Height, IReadOnlyList<DetectedFace> Faces, Units Units);

/// <summary>What the call was metered as.</summary>
public sealed record Units(string Meter, double Quantity);

/// <param name="Status">ready, starting or unavailable.</param>
/// <param name="Pending">Calls running or waiting for a worker.</param>
public sealed record EngineInfo(string Name, string Status, string? Reason, int Workers, int Pending);
/// <summary>The Gureum:Ai limits a call is checked against; over one, the call answers 413 (or 422) naming the setting.</summary>
/// <param name="MaxSyncPages">Documents with more pages are read asynchronously.</param>
/// <param name="MaxSyncAudioSeconds">Longer audio is transcribed asynchronously.</param>
public sealed record AiLimits(
    long MaxImageBytes, long MaxImagePixels, int MaxImageDimension, int MaxPages, int MaxSyncPages, int MaxTtsCharacters, long MaxAudioBytes,
    double MaxAudioSeconds, double MaxSyncAudioSeconds, int MaxTranslateTexts, int MaxTranslateCharacters);
public sealed record OcrLanguages(IReadOnlyList<string> Languages);
public sealed record SttLanguages(IReadOnlyList<string> Languages);
public sealed record TranslationPairs(IReadOnlyList<TranslationPair> Pairs);
public sealed record TranslationPair(string Source, string Target);
public sealed record Voices(IReadOnlyList<Voice> Items);

/// <summary>Uploaded bytes of an AI call: raw body, gated by content type, refused over the limit before it is read.</summary>
internal static class AiBody
{
    public static readonly string[] ImageTypes = ["image/png", "image/jpeg", "image/tiff", "image/bmp", "application/pdf", "application/octet-stream"];
    public static readonly string[] FaceImageTypes = [.. ImageTypes.Where(t => t != "application/pdf")];
    public static readonly string[] AudioTypes = ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"];

    public static async Task<byte[]> ReadAsync(HttpContext http, string[] types, long maxBytes, string setting, CancellationToken ct)
    {
        // Forms and text/plain are refused: a browser sends those across origins without asking first.
        var type = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (type is null || !types.Contains(type))
        {
            throw new GureumException(ProblemCode.UnsupportedMediaType,
                $"Send the file as the raw request body with Content-Type one of: {string.Join(", ", types)}{(type is null ? "" : $" (got '{type}')")}.");
        }
        var body = await RequestBody.ReadAsync(http, maxBytes, size => TooLarge(size, maxBytes, setting), ct);
        if (body.Length == 0) throw new AiInputException("file", "The body is empty; send the file's bytes as the request body.");
        return body;
    }

    private static AiInputException TooLarge(long size, long max, string setting) => AiInputException.TooLarge("file",
        $"The file is {(size > max + 1 ? size + " bytes" : "larger than the limit")}; at most {max} bytes are accepted ({setting}).");
}

/// <summary>Mono 16-bit audio collected in a buffer from the shared pool, with room for a WAV header in front.</summary>
internal sealed class PooledAudio : IDisposable
{
    private const int HeaderBytes = 44;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
    private int _length = HeaderBytes;

    public void Append(ReadOnlySpan<short> samples)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples);
        if (_length + bytes.Length > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + bytes.Length));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public ReadOnlyMemory<byte> Samples => _buffer.AsMemory(HeaderBytes, _length - HeaderBytes);

    public ReadOnlyMemory<byte> WithWavHeader(int sampleRate)
    {
        Wav.Header(sampleRate, 1, (uint)(_length - HeaderBytes)).CopyTo(_buffer, 0);
        return _buffer.AsMemory(0, _length);
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
