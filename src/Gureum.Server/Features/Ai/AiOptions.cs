using Gureum.AI.Imaging;
using Gureum.AI.Speech;

namespace Gureum.Server.Features.Ai;

/// <summary>Workers and queue of one engine's pool (<c>Gureum:Ai:Ocr:Workers</c>, ...).</summary>
public sealed class EnginePoolOptions
{
    /// <summary>Engine instances, each serving one call at a time (0: one per core, at most 4).</summary>
    public int Workers { get; set; }

    /// <summary>Calls that may wait for a free instance; beyond this a call is refused with 429 and Retry-After.</summary>
    public int Queue { get; set; } = 64;

    public int EffectiveWorkers => Workers > 0 ? Workers : Math.Clamp(Environment.ProcessorCount, 1, 4);
}

/// <summary>Settings of the ready-made AI APIs under <c>Gureum:Ai</c>; every limit answers 413 naming its setting.</summary>
public sealed class AiOptions
{
    public const string Section = "Gureum:Ai";

    public EnginePoolOptions Ocr { get; set; } = new();
    /// <summary>eSpeak NG keeps global state, so one instance serves; more workers only help Flite voices.</summary>
    public EnginePoolOptions Tts { get; set; } = new() { Workers = 1 };
    /// <summary>A recogniser holds ~150 MB.</summary>
    public EnginePoolOptions Stt { get; set; } = new() { Workers = 2 };
    /// <summary>Pipelines per language pair (~190 MB of processes each).</summary>
    public EnginePoolOptions Translate { get; set; } = new() { Workers = 1 };
    public EnginePoolOptions Faces { get; set; } = new();

    /// <summary>Largest image or PDF upload.</summary>
    public long MaxImageBytes { get; set; } = 50L * 1024 * 1024;
    public long MaxImagePixels { get; set; } = 50_000_000;
    public int MaxImageDimension { get; set; } = 20_000;
    /// <summary>Pages of a TIFF or PDF.</summary>
    public int MaxPages { get; set; } = 200;
    public int PdfDpi { get; set; } = 300;
    /// <summary>Documents with more pages than this are recognised asynchronously (202 + Operation-Location).</summary>
    public int MaxSyncPages { get; set; } = 1;

    /// <summary>Characters of one text to speak.</summary>
    public int MaxTtsCharacters { get; set; } = 100_000;

    public long MaxAudioBytes { get; set; } = 200L * 1024 * 1024;
    public double MaxAudioSeconds { get; set; } = 3600;
    /// <summary>Longer audio is transcribed asynchronously.</summary>
    public double MaxSyncAudioSeconds { get; set; } = 60;

    public int MaxTranslateTexts { get; set; } = 1000;
    /// <summary>Characters over all texts of one request.</summary>
    public int MaxTranslateCharacters { get; set; } = 100_000;
    public TimeSpan TranslateTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the result of an asynchronous operation can be fetched.</summary>
    public TimeSpan OperationTtl { get; set; } = TimeSpan.FromHours(24);

    public ImageLimits ImageLimits => new(MaxImagePixels, MaxImageDimension, MaxPages, PdfDpi);
    public AudioLimits AudioLimits => new(MaxAudioSeconds);
}
