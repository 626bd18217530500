using System.Collections.Concurrent;
using Gureum.AI;
using Gureum.AI.Faces;
using Gureum.AI.Native;
using Gureum.AI.Ocr;
using Gureum.AI.Speech;
using Gureum.AI.Translation;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gureum.Server.Features.Ai;

/// <summary>
/// The loaded engines, one pool each (translation: one pool per installed language pair). Loaded in the background
/// at start-up so the first call is fast and <c>/health/ready</c> can say which engines are there.
/// </summary>
public sealed partial class AiEngines(AiOptions options, ILogger<AiEngines> logger) : BackgroundService
{
    public EnginePool<TesseractEngine> Ocr { get; } = new("Ocr", options.Ocr.EffectiveWorkers, options.Ocr.Queue, () => new TesseractEngine { Limits = options.ImageLimits });
    public EnginePool<SpeechSynthesizer> Tts { get; } = new("Tts", options.Tts.EffectiveWorkers, options.Tts.Queue, () => new SpeechSynthesizer());
    public EnginePool<SpeechRecognizer> Stt { get; } = new("Stt", options.Stt.EffectiveWorkers, options.Stt.Queue, () => new SpeechRecognizer());
    public EnginePool<FaceDetector> Faces { get; } = new("Faces", options.Faces.EffectiveWorkers, options.Faces.Queue, () => new FaceDetector());

    private readonly ConcurrentDictionary<(string, string), EnginePool<ApertiumPipeline>> _translators = new();
    private IReadOnlyList<LanguagePair>? _pairs;

    /// <summary>Installed translation pairs, read once (installing a pair needs a restart, as with any engine).</summary>
    public IReadOnlyList<LanguagePair> Pairs => _pairs ??= SafeInstalledPairs();

    /// <summary>The pool of the pair, or 422 naming the field and the installed pairs.</summary>
    public EnginePool<ApertiumPipeline> Translator(string source, string target)
    {
        if (Pairs.Count == 0)
        {
            throw new GureumException(ProblemCode.EngineUnavailable,
                "No translation pair is installed on this server. Install the Debian packages 'apertium apertium-eng-spa' (./gureum serve installs them) and restart.");
        }
        // Resolve says which field is wrong and lists the installed pairs (422).
        var pair = Pairs.FirstOrDefault(p => p.Source == source && p.Target == target) ?? ApertiumPipeline.Resolve(source, target);
        return _translators.GetOrAdd((source, target), _ => new EnginePool<ApertiumPipeline>(
            "Translate", options.Translate.EffectiveWorkers, options.Translate.Queue, () => new ApertiumPipeline(pair)));
    }

    public IEnumerable<(string Name, EngineStatus Status, string? Reason)> Statuses()
    {
        yield return Describe(Ocr);
        yield return Describe(Tts);
        yield return Describe(Stt);
        yield return Describe(Faces);
        yield return Pairs.Count == 0
            ? ("Translate", EngineStatus.Unavailable, "no Apertium pair installed (install: apertium apertium-eng-spa)")
            : ("Translate", EngineStatus.Ready, string.Join(", ", Pairs.Select(p => p.Source + "-" + p.Target)));
    }

    private static (string, EngineStatus, string?) Describe<T>(EnginePool<T> pool) where T : class, IDisposable =>
        (pool.Name, pool.Status, pool.Unavailable is { } e ? $"{e.Message} (install: {e.Packages})" : null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        NativeLoadOrder.LoadOcrLibrariesFirst();
        // One after the other: loading models in parallel would compete with start-up for two cores.
        await WarmAsync(Ocr, stoppingToken);
        await WarmAsync(Tts, stoppingToken);
        await WarmAsync(Faces, stoppingToken);
        await WarmAsync(Stt, stoppingToken);
    }

    private async Task WarmAsync<T>(EnginePool<T> pool, CancellationToken ct) where T : class, IDisposable
    {
        try
        {
            await pool.WarmUpAsync(ct);
        }
        catch (GureumException e) when (e.Code == ProblemCode.EngineUnavailable)
        {
            LogMissing(logger, pool.Name, e.Message);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            LogWarmUpFailed(logger, pool.Name, e);
        }
    }

    private IReadOnlyList<LanguagePair> SafeInstalledPairs()
    {
        try
        {
            return ApertiumPipeline.InstalledPairs();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogMissing(logger, "Translate", e.Message);
            return [];
        }
    }

    public override void Dispose()
    {
        Ocr.Dispose();
        Tts.Dispose();
        Stt.Dispose();
        Faces.Dispose();
        foreach (var pool in _translators.Values) pool.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AI engine {Engine} is not available: {Reason}")]
    private static partial void LogMissing(ILogger logger, string engine, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "AI engine {Engine} failed to load")]
    private static partial void LogWarmUpFailed(ILogger logger, string engine, Exception exception);
}

/// <summary>Readiness lists each engine; a missing engine degrades (the other APIs still serve), it does not fail.</summary>
internal sealed class AiEnginesHealthCheck(AiEngines engines) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var statuses = engines.Statuses().ToList();
        var description = string.Join("; ", statuses.Select(s => $"{s.Name.ToLowerInvariant()}: {s.Status.ToString().ToLowerInvariant()}" + (s.Reason is null ? "" : $" ({s.Reason})")));
        var data = statuses.ToDictionary(s => s.Name.ToLowerInvariant(), s => (object)s.Status.ToString().ToLowerInvariant());
        return Task.FromResult(statuses.Any(s => s.Status == EngineStatus.Unavailable)
            ? HealthCheckResult.Degraded(description, data: data)
            : HealthCheckResult.Healthy(description, data));
    }
}
