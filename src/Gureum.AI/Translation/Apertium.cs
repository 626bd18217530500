namespace Gureum.AI.Translation;

/// <param name="Source">ISO 639-3 as Apertium names it (eng, spa, ...).</param>
public sealed record LanguagePair(string Source, string Target, string ModeFile);

/// <summary>
/// One long-lived Apertium pipeline for one pair (the stages of the pair's .mode file, each with -z, text terminated
/// by NUL): one request at a time, ~1 ms per sentence. A stage that dies or stalls past the timeout is an
/// exception; the pool replaces the pipeline.
/// </summary>
public sealed class ApertiumPipeline : IDisposable
{
    public ApertiumPipeline(LanguagePair pair) => throw new NotImplementedException();

    public LanguagePair Pair => throw new NotImplementedException();

    /// <summary>Installed pairs from /usr/share/apertium/modes (empty when apertium is not installed).</summary>
    public static IReadOnlyList<LanguagePair> InstalledPairs() => throw new NotImplementedException();

    public string Translate(string text, TimeSpan timeout) => throw new NotImplementedException();

    public void Dispose() { }
}
