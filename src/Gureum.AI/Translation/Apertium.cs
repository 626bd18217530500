using System.Collections.Concurrent;
using System.ComponentModel;

namespace Gureum.AI.Translation;

/// <param name="Source">ISO 639-3 as Apertium names it (eng, spa, ...).</param>
public sealed record LanguagePair(string Source, string Target, string ModeFile);

/// <summary>
/// One long-lived Apertium pipeline for one pair (the stages of the pair's .mode file, each with -z, text terminated
/// by NUL): one request at a time, ~1 ms per sentence. A stage that dies or stalls past the timeout is an
/// exception; the pool replaces the pipeline.
/// </summary>
/// <remarks>
/// Every stage is a child process of ours, joined by threads that copy each stdout to the next stdin. A single
/// `bash -c "a | b | ..."` was about as fast, but its stages are bash's children: killed out of order they are
/// orphaned to PID 1, which in a container may never reap them. Dedicated threads rather than async copies, so a
/// starved thread pool cannot stall a translation into a timeout.
/// </remarks>
public sealed class ApertiumPipeline : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ApertiumStage[] _stages;
    private readonly Stream _input;
    private readonly BlockingCollection<byte[]> _answers = new();
    private readonly Lock _gate = new();
    private Failure? _failure;
    private long _requests;
    private int _disposed;

    private sealed record Failure(string Reason, bool TimedOut);

    /// <summary>Starts the pipeline with unknown words left unmarked (clean text for users).</summary>
    public ApertiumPipeline(LanguagePair pair) : this(pair, markUnknownWords: false) { }

    /// <param name="markUnknownWords">
    /// Keep Apertium's marks: *word not in the dictionary, @word without a translation, #word that could not be
    /// generated. Shows which words were left untranslated; off by default because users expect clean text.
    /// </param>
    /// <exception cref="EngineUnavailableException">Apertium, the pair's data or one of its programs is missing.</exception>
    public ApertiumPipeline(LanguagePair pair, bool markUnknownWords)
    {
        Pair = pair;
        string packages = ApertiumModes.Packages;
        List<string[]> argvs;
        try
        {
            string mode = File.ReadAllText(pair.ModeFile);
            packages = ApertiumModes.PackagesFor(mode);
            argvs = ApertiumModes.Stages(mode, markUnknownWords);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new EngineUnavailableException("translate", packages, $"Apertium mode {pair.Source}-{pair.Target} is unusable: {e.Message}", e);
        }

        _stages = new ApertiumStage[argvs.Count];
        try
        {
            for (int i = 0; i < argvs.Count; i++)
                _stages[i] = new ApertiumStage(i + 1, argvs[i]);
        }
        catch (Win32Exception e)
        {
            Dispose();
            throw new EngineUnavailableException("translate", packages, $"An Apertium program is not installed: {e.Message}", e);
        }
        for (int i = 0; i + 1 < _stages.Length; i++)
            StartThread($"apertium-pump-{i + 1}", Pump(_stages[i].Output, _stages[i + 1].Input));
        // The streams are taken once: a disposed Process no longer hands them out.
        _input = _stages[0].Input;
        var output = _stages[^1].Output;
        StartThread("apertium-answers", () => Collect(output));

        // Loads every stage's data now, so a broken install fails here and the first request is not the slow one.
        try
        {
            Translate("Hello.", StartTimeout);
        }
        catch (TranslationEngineException e)
        {
            Dispose();
            throw new EngineUnavailableException("translate", packages, $"The Apertium pipeline {pair.Source}-{pair.Target} did not start: {e.Message}", e);
        }
    }

    public LanguagePair Pair { get; }

    /// <summary>True after a stage died or a request timed out: dispose this pipeline and start another.</summary>
    public bool IsBroken => Volatile.Read(ref _failure) is not null;

    /// <summary>Process ids of the stages, for tests that kill one or check that none is left.</summary>
    internal IReadOnlyList<int> StageProcessIds => [.. _stages.Select(s => s.Id)];

    /// <summary>Installed pairs from /usr/share/apertium/modes (empty when apertium is not installed).</summary>
    public static IReadOnlyList<LanguagePair> InstalledPairs() => ApertiumModes.Find(ApertiumModes.ModesDirectory);

    /// <summary>
    /// The installed pair for (source, target), compared case-insensitively. Throws <see cref="AiInputException"/>
    /// 422 listing the installed pairs when there is none, <see cref="EngineUnavailableException"/> when Apertium
    /// has no pair installed at all.
    /// </summary>
    public static LanguagePair Resolve(string source, string target) => ApertiumModes.Resolve(InstalledPairs(), source, target);

    /// <summary>
    /// Translates one text (any number of sentences and lines) as one request. Line breaks inside are kept;
    /// leading and trailing whitespace is not.
    /// </summary>
    /// <exception cref="TranslationEngineException">A stage died or no answer came within <paramref name="timeout"/>.</exception>
    public string Translate(string text, TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (string.IsNullOrWhiteSpace(text))
            return "";
        long id = Interlocked.Increment(ref _requests);
        byte[] request = ApertiumText.Frame(text, id);
        lock (_gate)
        {
            if (Volatile.Read(ref _failure) is { } earlier)
                throw new TranslationEngineException($"Apertium {Pair.Source}-{Pair.Target} is broken: {earlier.Reason}", earlier.TimedOut);
            // The watchdog also ends a write blocked because a stalled stage stopped reading.
            using (new Timer(static s => ((ApertiumPipeline)s!).Fail(new("no answer within the timeout", TimedOut: true)),
                this, timeout, Timeout.InfiniteTimeSpan))
            {
                try
                {
                    _input.Write(request);
                    _input.Flush();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The pipe broke because a stage died; which one says more than the write error.
                    Fail(new(DeadStage(), TimedOut: false));
                }
                if (Volatile.Read(ref _failure) is null && _answers.TryTake(out var answer, timeout))
                {
                    if (ApertiumText.Unframe(answer, id) is { } translation)
                        return translation;
                    Fail(new(DeadStage(), TimedOut: false));
                }
            }
            Fail(new("no answer within the timeout", TimedOut: true));
            var failure = Volatile.Read(ref _failure)!;
            throw new TranslationEngineException($"Apertium {Pair.Source}-{Pair.Target}: {failure.Reason}", failure.TimedOut);
        }
    }

    /// <summary>Records the first failure and kills the stages, which wakes a request blocked on them.</summary>
    private void Fail(Failure failure)
    {
        if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
            KillAll();
    }

    private void KillAll()
    {
        foreach (var stage in _stages)
            stage?.Kill();
    }

    private static void StartThread(string name, ThreadStart body) =>
        new Thread(body) { Name = name, IsBackground = true }.Start();

    /// <summary>Copies one stage's output to the next; at its end (the stage exited) closes the next one's input.</summary>
    private static ThreadStart Pump(Stream from, Stream to) => () =>
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = from.Read(buffer)) > 0)
                to.Write(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The next stage died or the pipeline is being disposed; the answer reader reports it.
        }
        try
        {
            to.Dispose();
        }
        catch (IOException)
        {
            // The next stage is gone already.
        }
    };

    /// <summary>Splits the last stage's output into answers at each NUL; its end means a stage died.</summary>
    private void Collect(Stream output)
    {
        var buffer = new byte[16 * 1024];
        var answer = new MemoryStream();
        try
        {
            int n;
            while ((n = output.Read(buffer)) > 0)
            {
                var chunk = buffer.AsSpan(0, n);
                for (int nul; (nul = chunk.IndexOf((byte)0)) >= 0; chunk = chunk[(nul + 1)..])
                {
                    answer.Write(chunk[..nul]);
                    _answers.Add(answer.ToArray());
                    answer.SetLength(0);
                }
                answer.Write(chunk);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Disposed while reading: the failure is recorded already.
        }
        Fail(new(DeadStage(), TimedOut: false));
        _answers.CompleteAdding();
    }

    /// <summary>
    /// The stage that broke the pipeline: the first that failed, else the first that exited (the ones after it
    /// exit with 0 when their input closes). Waits a little, as .NET learns of exits asynchronously.
    /// </summary>
    private string DeadStage()
    {
        for (int attempt = 0; attempt < 50 && Volatile.Read(ref _failure) is null; attempt++)
        {
            if (_stages.Any(s => s.ExitCode is not null))
            {
                Thread.Sleep(50);
                var culprit = _stages.FirstOrDefault(s => s.ExitCode is not (null or 0)) ?? _stages.FirstOrDefault(s => s.ExitCode is not null);
                if (culprit?.ExitDescription() is { } description)
                    return description;
            }
            Thread.Sleep(10);
        }
        return "a stage ended its output without exiting";
    }

    /// <summary>Kills every stage and waits until each is reaped, so no process or zombie is left.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Interlocked.CompareExchange(ref _failure, new Failure("disposed", TimedOut: false), null);
        foreach (var stage in _stages)
            stage?.Dispose();
    }
}
