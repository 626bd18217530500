using System.Threading.Channels;
using Gureum.AI;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Ai;

public enum EngineStatus { Starting, Ready, Unavailable }

/// <summary>
/// A fixed number of engine instances, each used by one call at a time (the engines are not thread-safe), created on
/// first need and kept loaded. Callers beyond the instances wait in a bounded queue; beyond that they get 429. An
/// instance that fails in a way other than bad input is disposed and a fresh one takes its slot, so one bad call
/// cannot leave a broken engine behind.
/// </summary>
public sealed class EnginePool<TEngine> : IDisposable where TEngine : class, IDisposable
{
    private readonly Func<TEngine> _create;
    private readonly Channel<TEngine?> _slots;
    private readonly int _maxPending;
    private int _pending;
    private long _failures;

    public EnginePool(string name, int workers, int queue, Func<TEngine> create)
    {
        Name = name;
        Workers = workers;
        _create = create;
        _maxPending = workers + queue;
        _slots = Channel.CreateBounded<TEngine?>(workers);
        for (var i = 0; i < workers; i++) _slots.Writer.TryWrite(null);
    }

    public string Name { get; }
    public int Workers { get; }
    public EngineStatus Status { get; private set; } = EngineStatus.Starting;
    /// <summary>Why the engine is unavailable, and the packages that provide it.</summary>
    public EngineUnavailableException? Unavailable { get; private set; }
    public int Pending => Volatile.Read(ref _pending);
    /// <summary>Instances disposed after an engine failure (and at shutdown).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Loads one instance now (at start-up), so the first call does not pay for the model and status is known.</summary>
    public Task WarmUpAsync(CancellationToken ct) => RunAsync((_, _) => true, ct);

    public async Task<T> RunAsync<T>(Func<TEngine, CancellationToken, T> work, CancellationToken ct)
    {
        if (Unavailable is { } missing) throw NotInstalled(missing);
        if (Interlocked.Increment(ref _pending) > _maxPending)
        {
            Interlocked.Decrement(ref _pending);
            throw new GureumException(ProblemCode.TooManyRequests,
                $"The {Name} engine is busy: {Workers} calls run and {_maxPending - Workers} wait. Retry after the Retry-After delay, or raise Gureum:Ai:{Name}:Workers / Queue.");
        }
        try
        {
            var engine = await _slots.Reader.ReadAsync(ct);
            try
            {
                // Native engines block: run on a pool thread so the request thread is not held while they compute.
                engine ??= Create();
                var result = await Task.Run(() => work(engine, ct), CancellationToken.None);
                Status = EngineStatus.Ready;
                return result;
            }
            catch (Exception e) when (e is not (AiInputException or OperationCanceledException or GureumException) && engine is not null)
            {
                Retire(engine);
                engine = null;
                Interlocked.Increment(ref _failures);
                throw;
            }
            finally
            {
                _slots.Writer.TryWrite(engine);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private TEngine Create()
    {
        try
        {
            return _create();
        }
        catch (EngineUnavailableException e)
        {
            Unavailable = e;
            Status = EngineStatus.Unavailable;
            throw NotInstalled(e);
        }
    }

    private static void Retire(TEngine engine)
    {
        try
        {
            engine.Dispose();
        }
        catch (Exception)
        {
            // A broken instance may fail to close; its slot is refilled either way.
        }
    }

    private GureumException NotInstalled(EngineUnavailableException e) => new(ProblemCode.EngineUnavailable,
        $"The {Name} engine is not available on this server: {e.Message} Install the Debian packages '{e.Packages}' (./gureum serve installs them) and restart.");

    /// <summary>Frees the idle instances. One still in a call is left to the process exit: freeing native state under a
    /// running call would crash the process.</summary>
    public void Dispose()
    {
        _slots.Writer.TryComplete();
        while (_slots.Reader.TryRead(out var engine))
        {
            if (engine is not null) Retire(engine);
        }
    }
}
