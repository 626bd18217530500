using System.Collections.Concurrent;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Token buckets refilled continuously from the clock (no timers): a bucket holds up to <c>burst</c> tokens and gains
/// <c>rate</c> per second; a request takes one or is told exactly how long until one is there. Taking is one short
/// lock per bucket, so racing requests can never take more than the bucket holds. Idle buckets are dropped.
/// (.NET's partitioned token bucket refills on a shared 100 ms timer, which rounds rates down and the wait up.)
/// </summary>
public sealed class TokenBuckets<TKey>(TimeProvider clock) where TKey : notnull
{
    private static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<TKey, State> _buckets = new();
    private long _lastSweep = clock.GetTimestamp();

    private sealed class State(double tokens, long at)
    {
        public double Tokens = tokens;
        public long At = at;
    }

    /// <summary>Takes a token: <see cref="TimeSpan.Zero"/> when taken, otherwise how long until the next one.</summary>
    public TimeSpan TryTake(TKey key, double ratePerSecond, int burst)
    {
        var state = _buckets.GetOrAdd(key, static (_, a) => new State(a.burst, a.now), (burst, now: clock.GetTimestamp()));
        TimeSpan wait;
        long now;
        lock (state)
        {
            // The time is read under the lock: a racer that read it earlier but locked later must not refill backwards.
            now = clock.GetTimestamp();
            state.Tokens = Math.Min(burst, state.Tokens + Math.Max(0, clock.GetElapsedTime(state.At, now).TotalSeconds) * ratePerSecond);
            state.At = now;
            if (state.Tokens >= 1)
            {
                state.Tokens -= 1;
                wait = TimeSpan.Zero;
            }
            else
            {
                // Rounded up to whole ticks: a bucket a hair short of a token must not answer Zero, which means "taken".
                wait = TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling((1 - state.Tokens) / ratePerSecond * TimeSpan.TicksPerSecond)));
            }
        }
        SweepIfDue(now);
        return wait;
    }

    private void SweepIfDue(long now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (clock.GetElapsedTime(last, now) < IdleAfter || Interlocked.CompareExchange(ref _lastSweep, now, last) != last) return;
        foreach (var (key, state) in _buckets)
        {
            // An idle bucket is full again; dropping it changes nothing for its key.
            if (clock.GetElapsedTime(Volatile.Read(ref state.At), now) > IdleAfter) _buckets.TryRemove(key, out _);
        }
    }
}
