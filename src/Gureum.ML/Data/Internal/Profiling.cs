using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Gureum.ML.Data.Internal;

/// <summary>
/// Distinct values: exact up to a bound, then a K-minimum-values estimate. Values are kept as 64-bit hashes, not
/// strings (nothing is allocated per value); the "exact" count is off only if two of at most
/// <see cref="DefaultExactLimit"/> values share a 64-bit hash (odds about 10^-9).
/// </summary>
internal sealed class DistinctCounter(int exactLimit = DistinctCounter.DefaultExactLimit)
{
    internal const int DefaultExactLimit = 100_000;
    internal const int K = 4096;
    private ULongSet? _exact = new();
    /// <summary>The smallest hashes seen (sorted, distinct, at most <see cref="K"/>), once counting is no longer exact.</summary>
    private ulong[] _kmv = [];
    private int _kmvCount;
    /// <summary>Hashes below <see cref="_kmvMax"/> not yet merged into <see cref="_kmv"/> (merged K at a time).</summary>
    private ulong[] _candidates = [];
    private int _candidateCount;
    /// <summary>The largest kept hash, once <see cref="K"/> are kept.</summary>
    private ulong _kmvMax;
    private bool _kmvFull;

    public bool IsEstimate => _exact is null;

    public void Add(string value) => Add(value.AsSpan());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(ReadOnlySpan<char> value) => AddHash(Hash(value));

    /// <summary>
    /// Adds the hashes of many values (the same count as adding them one by one). In a tight loop the CPU overlaps
    /// the table lookups, which miss the cache for a large exact set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddHashes(ReadOnlySpan<ulong> hashes)
    {
        foreach (var h in hashes) AddHash(h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddHash(ulong h)
    {
        if (_exact is not null)
        {
            if (_exact.Add(h) && _exact.Count > exactLimit) StartSketch();
            return;
        }
        // Once K hashes are kept, most values are above the largest one: no call for them.
        if (_kmvFull && h >= _kmvMax) return;
        AddCandidate(h);
    }

    /// <summary>The K smallest hashes of the exact set, as adding them one by one would keep (sorted once instead).</summary>
    private void StartSketch()
    {
        var all = _exact!.ToArray();
        Array.Sort(all);
        _kmv = new ulong[K];
        _candidates = new ulong[K];
        _exact = null;
        Merge(all);
    }

    private void AddCandidate(ulong h)
    {
        _candidates[_candidateCount++] = h;
        if (_candidateCount == K) MergeCandidates();
    }

    private void MergeCandidates()
    {
        if (_candidateCount == 0) return;
        var candidates = _candidates.AsSpan(0, _candidateCount);
        candidates.Sort();
        Merge(candidates);
        _candidateCount = 0;
    }

    /// <summary>Keeps the K smallest distinct hashes of the kept ones and <paramref name="sorted"/>.</summary>
    private void Merge(ReadOnlySpan<ulong> sorted)
    {
        var merged = new ulong[Math.Min(K, _kmvCount + sorted.Length)];
        int a = 0, b = 0, n = 0;
        while (n < merged.Length && (a < _kmvCount || b < sorted.Length))
        {
            var next = b == sorted.Length || (a < _kmvCount && _kmv[a] <= sorted[b]) ? _kmv[a++] : sorted[b++];
            if (n == 0 || merged[n - 1] != next) merged[n++] = next;
        }
        merged.AsSpan(0, n).CopyTo(_kmv);
        _kmvCount = n;
        _kmvFull = n == K;
        if (_kmvFull) _kmvMax = _kmv[K - 1];
    }

    public long Count
    {
        get
        {
            if (_exact is not null) return _exact.Count;
            MergeCandidates();
            if (!_kmvFull) return _kmvCount;
            return (long)((K - 1) / (_kmvMax / (double)ulong.MaxValue));
        }
    }

    internal static ulong Hash(string s) => Hash(s.AsSpan());

    /// <summary>A number's hash, by value (0 and -0 are one).</summary>
    internal static ulong HashNumber(double d) => HashBits(d == 0 ? 0UL : (ulong)BitConverter.DoubleToInt64Bits(d));

    /// <summary>64 bits mixed by the SplitMix64 finaliser (a bijection: distinct bits, distinct hashes).</summary>
    internal static ulong HashBits(ulong bits)
    {
        var z = bits + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// A 64-bit hash of the UTF-16 code units (XXH3: 16 bytes per independent step, so long values hash quickly).
    /// Fixed, not randomised: the same file gives the same profile.
    /// </summary>
    internal static ulong Hash(ReadOnlySpan<char> s) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(s));
}

/// <summary>
/// A set of 64-bit values in one open-addressed table (linear probing): one cache line per lookup, where a
/// HashSet takes two (bucket, then entry); a large exact distinct set is probed once per value.
/// </summary>
internal sealed class ULongSet
{
    private ulong[] _slots = new ulong[64];
    private bool _hasZero;
    private int _used;

    public int Count => _used + (_hasZero ? 1 : 0);

    /// <summary>True when <paramref name="x"/> was not in the set (0 marks an empty slot, so it is kept aside).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Add(ulong x)
    {
        if (x == 0)
        {
            if (_hasZero) return false;
            return _hasZero = true;
        }
        var mask = _slots.Length - 1;
        // The values are hashes already: their high bits pick the slot.
        var i = (int)(x >> 32) & mask;
        while (true)
        {
            var s = _slots[i];
            if (s == x) return false;
            if (s == 0) break;
            i = (i + 1) & mask;
        }
        _slots[i] = x;
        // Up to 13/16 full: 100k hashes fit in 1 MB (linear probing stays short at that load).
        if (++_used > _slots.Length / 16 * 13) Grow();
        return true;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new ulong[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var x in old)
        {
            if (x == 0) continue;
            var i = (int)(x >> 32) & mask;
            while (_slots[i] != 0) i = (i + 1) & mask;
            _slots[i] = x;
        }
    }

    public ulong[] ToArray()
    {
        var all = new ulong[Count];
        var n = 0;
        if (_hasZero) all[n++] = 0;
        foreach (var x in _slots)
            if (x != 0) all[n++] = x;
        return all;
    }
}

/// <summary>
/// Counts of text values in one open-addressed table: a value is hashed once (<see cref="DistinctCounter.Hash(ReadOnlySpan{char})"/>) and compared only with the
/// keys of the same hash, with no comparer to call through; a string is made only for a value not seen before.
/// </summary>
internal sealed class SpanCounts
{
    private int[] _slots = new int[64]; // entry index + 1; 0 is empty
    private string[] _keys = new string[32];
    private long[] _counts = new long[32];
    private uint[] _hashes = new uint[32];

    public int Count { get; private set; }

    /// <summary>The count of <paramref name="key"/>, or a null reference when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long Find(ReadOnlySpan<char> key)
    {
        var hash = (uint)DistinctCounter.Hash(key);
        var mask = _slots.Length - 1;
        for (var i = (int)hash & mask; ; i = (i + 1) & mask)
        {
            var entry = _slots[i] - 1;
            if (entry < 0) return ref Unsafe.NullRef<long>();
            if (_hashes[entry] == hash && key.SequenceEqual(_keys[entry])) return ref _counts[entry];
        }
    }

    /// <summary>Adds a key that is not counted yet.</summary>
    public void Add(string key, long count)
    {
        if (Count == _keys.Length)
        {
            Array.Resize(ref _keys, Count * 2);
            Array.Resize(ref _counts, Count * 2);
            Array.Resize(ref _hashes, Count * 2);
        }
        var hash = (uint)DistinctCounter.Hash(key);
        _keys[Count] = key;
        _counts[Count] = count;
        _hashes[Count] = hash;
        Count++;
        // At most half full: probes stay short.
        if (Count * 2 > _slots.Length) Rehash(_slots.Length * 2);
        else Place(Count - 1, hash);
    }

    private void Place(int entry, uint hash)
    {
        var mask = _slots.Length - 1;
        var i = (int)hash & mask;
        while (_slots[i] != 0) i = (i + 1) & mask;
        _slots[i] = entry + 1;
    }

    private void Rehash(int size)
    {
        _slots = new int[size];
        for (var e = 0; e < Count; e++) Place(e, _hashes[e]);
    }

    public IEnumerable<string> Keys => _keys.Take(Count);

    public IEnumerable<KeyValuePair<string, long>> Entries =>
        Enumerable.Range(0, Count).Select(e => new KeyValuePair<string, long>(_keys[e], _counts[e]));
}

/// <summary>Value counts: exact while at most <paramref name="exactLimit"/> values, then space-saving (approximate top values).</summary>
internal sealed class TopCounter(int exactLimit, int approxCapacity)
{
    private SpanCounts? _exact = new();
    private Dictionary<string, long>? _approximate;

    /// <summary>Counts a value; a string is made only for a value not seen before.</summary>
    public void Add(ReadOnlySpan<char> value)
    {
        if (_exact is { } exact)
        {
            ref var count = ref exact.Find(value);
            if (!Unsafe.IsNullRef(ref count))
            {
                count++;
                return;
            }
        }
        else
        {
            var lookup = _approximate!.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(value, out var c))
            {
                lookup[value] = c + 1;
                return;
            }
        }
        Add(value.ToString());
    }

    /// <summary>Counts <paramref name="count"/> occurrences of a value at once.</summary>
    public void Add(string value, long count)
    {
        if (_exact is { } exact)
        {
            ref var c = ref exact.Find(value);
            if (Unsafe.IsNullRef(ref c)) exact.Add(value, count);
            else c += count;
        }
        else CollectionsMarshal.GetValueRefOrAddDefault(_approximate!, value, out _) += count;
    }

    public void Add(string value)
    {
        if (_exact is { } exact)
        {
            ref var c = ref exact.Find(value);
            if (!Unsafe.IsNullRef(ref c))
            {
                c++;
                return;
            }
            if (exact.Count < exactLimit)
            {
                exact.Add(value, 1);
                return;
            }
            // Too many values to count each: the most frequent so far are kept, and space-saving from here on.
            _approximate = exact.Entries.OrderByDescending(kv => kv.Value).Take(approxCapacity).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            _exact = null;
            if (_approximate.Count < approxCapacity)
            {
                _approximate[value] = 1;
                return;
            }
        }
        var counts = _approximate!;
        if (counts.TryGetValue(value, out var existing))
        {
            counts[value] = existing + 1;
            return;
        }
        var minKey = "";
        var min = long.MaxValue;
        foreach (var kv in counts)
            if (kv.Value < min) { min = kv.Value; minKey = kv.Key; }
        counts.Remove(minKey);
        counts[value] = min + 1;
    }

    /// <summary>True while every value counted so far, and <paramref name="value"/>, have their own exact count.</summary>
    public bool CountsExactly(ReadOnlySpan<char> value) =>
        _exact is { } exact && (exact.Count < exactLimit || !Unsafe.IsNullRef(ref exact.Find(value)));

    /// <summary>The values counted (all of them while <see cref="CountsExactly"/>).</summary>
    public IEnumerable<string> Keys => _exact?.Keys ?? _approximate!.Keys;

    public IReadOnlyList<ValueCount> Top(int n) => (_exact?.Entries ?? _approximate!)
        .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
        .Take(n).Select(kv => new ValueCount(kv.Key, kv.Value)).ToList();

    public int Size => _exact?.Count ?? _approximate!.Count;
}

/// <summary>
/// Value counts of a numeric column, keyed by the double's bits (distinct bits, distinct "R" strings), exact up to
/// <paramref name="exactLimit"/> distinct values, then abandoned: an open-addressed table probed with the hash the
/// distinct count computes anyway. Strings are made only for the result.
/// </summary>
internal sealed class NumericTopCounter(int exactLimit)
{
    private long[] _keys = new long[16];
    private long[] _counts = new long[16];
    private int[] _slots = new int[32]; // entry index + 1; 0 is empty
    private int _count;

    public bool Abandoned { get; private set; }

    public void Add(double value) => Add(value, DistinctCounter.HashNumber(value));

    /// <summary>Counts a value whose <see cref="DistinctCounter.HashNumber"/> is <paramref name="hash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(double value, ulong hash)
    {
        if (Abandoned) return;
        var key = BitConverter.DoubleToInt64Bits(value);
        var mask = _slots.Length - 1;
        var i = (int)(hash >> 32) & mask;
        for (var entry = _slots[i] - 1; entry >= 0; entry = _slots[i] - 1)
        {
            if (_keys[entry] == key)
            {
                _counts[entry]++;
                return;
            }
            i = (i + 1) & mask;
        }
        if (_count == exactLimit)
        {
            // The keys stay until the caller has taken them as distinct values (ForgetKeys).
            Abandoned = true;
            _counts = [];
            _slots = [];
            return;
        }
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _counts, _count * 2);
        }
        _keys[_count] = key;
        _counts[_count] = 1;
        _slots[i] = ++_count;
        if (_count * 2 > _slots.Length) Rehash();
    }

    private void Rehash()
    {
        _slots = new int[_slots.Length * 2];
        var mask = _slots.Length - 1;
        for (var e = 0; e < _count; e++)
        {
            var i = (int)(DistinctCounter.HashNumber(BitConverter.Int64BitsToDouble(_keys[e])) >> 32) & mask;
            while (_slots[i] != 0) i = (i + 1) & mask;
            _slots[i] = e + 1;
        }
    }

    public IReadOnlyList<ValueCount>? Top(int n) => Abandoned ? null : Enumerable.Range(0, _count)
        .Select(e => (Key: BitConverter.Int64BitsToDouble(_keys[e]).ToString("R", CultureInfo.InvariantCulture), Value: _counts[e]))
        .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
        .Take(n).Select(kv => new ValueCount(kv.Key, kv.Value)).ToList();

    public int Size => _count;

    /// <summary>The values counted, as double bits (also once abandoned, until <see cref="ForgetKeys"/>).</summary>
    public ReadOnlySpan<long> Keys => _keys.AsSpan(0, _count);

    public void ForgetKeys()
    {
        _keys = [];
        _count = 0;
    }
}

/// <summary>
/// Mean and variance (exact, merged batch by batch with Chan's formula: no division per value), exact min/max, and a
/// uniform reservoir sample for quantiles and the histogram, drawn with Li's Algorithm L (a random number per value
/// taken, not per value seen).
/// </summary>
internal sealed class NumericStats
{
    internal const int ReservoirSize = 100_000;
    private double[] _reservoir = new double[1024];
    private int _filled;
    /// <summary>Index (in the stream of values) of the next value that enters the full reservoir.</summary>
    private long _next = long.MaxValue;
    private double _w;
    /// <summary>SplitMix64 state: a fixed seed (the same file gives the same profile), a few ns per draw.</summary>
    private ulong _random = 12345;
    private double _mean;
    private double _m2;

    public long N { get; private set; }
    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;

    public void Add(double x) => AddRange(new ReadOnlySpan<double>(in x));

    /// <summary>Adds finite values in stream order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRange(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return;
        double sum = 0, min = Min, max = Max;
        foreach (var x in values)
        {
            sum += x;
            if (x < min) min = x;
            if (x > max) max = x;
        }
        Min = min;
        Max = max;
        var n = values.Length;
        var mean = sum / n;
        double m2 = 0;
        foreach (var x in values) m2 += (x - mean) * (x - mean);
        var before = N;
        var total = before + n;
        var delta = mean - _mean;
        _mean += delta * n / total;
        _m2 += m2 + delta * delta * before * n / total;
        N = total;
        Sample(values, before);
    }

    private void Sample(ReadOnlySpan<double> values, long first)
    {
        var i = 0;
        while (_filled < ReservoirSize && i < values.Length)
        {
            if (_filled == _reservoir.Length) Array.Resize(ref _reservoir, Math.Min(ReservoirSize, _filled * 2));
            _reservoir[_filled++] = values[i++];
            if (_filled == ReservoirSize)
            {
                _w = Math.Exp(Math.Log(NextUniform()) / ReservoirSize);
                _next = first + i - 1;
                Skip();
            }
        }
        var end = first + values.Length;
        while (_next < end)
        {
            _reservoir[(int)Math.BigMul(NextRandom(), ReservoirSize, out _)] = values[(int)(_next - first)];
            _w *= Math.Exp(Math.Log(NextUniform()) / ReservoirSize);
            Skip();
        }
    }

    /// <summary>Moves <see cref="_next"/> past the values that Algorithm L skips (geometric with parameter W).</summary>
    private void Skip()
    {
        var skip = Math.Floor(Math.Log(NextUniform()) / Math.Log(1 - _w)) + 1;
        _next = skip < long.MaxValue / 2.0 && _next < long.MaxValue / 2 ? _next + (long)skip : long.MaxValue;
    }

    private ulong NextRandom()
    {
        var z = _random += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1].</summary>
    private double NextUniform() => ((NextRandom() >> 11) + 1) * (1.0 / (1UL << 53));

    public double Mean => _mean;
    public double Std => N > 1 ? Math.Sqrt(_m2 / (N - 1)) : 0;

    private static readonly int[] Percents = [1, 5, 25, 50, 75, 95, 99];

    public (Dictionary<string, double> Quantiles, List<HistogramBin> Histogram) Distribution()
    {
        // Selected in place: the order of a reservoir's values does not matter to it.
        var sample = _reservoir.AsSpan(0, _filled);
        var q = new Dictionary<string, double>();
        // The two ranks around each quantile, put in place by selection (no full sort).
        var ranks = new SortedSet<int>();
        foreach (var p in Percents)
        {
            var (lo, hi) = Ranks(sample.Length, p / 100.0);
            ranks.Add(lo);
            ranks.Add(hi);
        }
        if (sample.Length > 0) Select(sample, [.. ranks]);
        foreach (var p in Percents)
            q[$"p{p:00}"] = Quantile(sample, p / 100.0);
        const int bins = 20;
        var hist = new List<HistogramBin>();
        if (Min == Max)
        {
            hist.Add(new HistogramBin(Min, Max, N));
            return (q, hist);
        }
        var width = (Max - Min) / bins;
        var counts = new long[bins];
        // Divided, not multiplied by the reciprocal: a value on a bin edge must land where drift puts live values.
        foreach (var x in sample)
            counts[Math.Clamp((int)((x - Min) / width), 0, bins - 1)]++;
        var scale = sample.Length == 0 ? 0 : (double)N / sample.Length;
        for (var i = 0; i < bins; i++)
            hist.Add(new HistogramBin(Min + i * width, i == bins - 1 ? Max : Min + (i + 1) * width, (long)Math.Round(counts[i] * scale)));
        return (q, hist);
    }

    private static (int Lo, int Hi) Ranks(int length, double p)
    {
        var pos = p * Math.Max(length - 1, 0);
        var lo = (int)Math.Floor(pos);
        return (lo, Math.Min(lo + 1, Math.Max(length - 1, 0)));
    }

    /// <summary>Linear interpolation between the closest ranks (as numpy's default), on an array where both are in place.</summary>
    private static double Quantile(ReadOnlySpan<double> selected, double p)
    {
        if (selected.Length == 0) return double.NaN;
        var pos = p * (selected.Length - 1);
        var (lo, hi) = Ranks(selected.Length, p);
        return selected[lo] + (selected[hi] - selected[lo]) * (pos - lo);
    }

    /// <summary>
    /// Puts the values of the given ranks (ascending) where a sort would put them: a quickselect that follows every
    /// rank at once, three-way partitioned (columns often repeat values).
    /// </summary>
    internal static void Select(Span<double> values, ReadOnlySpan<int> ranks, int offset = 0)
    {
        while (ranks.Length > 0)
        {
            if (values.Length <= 32)
            {
                values.Sort();
                return;
            }
            var a = values[0];
            var b = values[values.Length / 2];
            var c = values[^1];
            var pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            // [0, lt) < pivot, [lt, i) == pivot, (gt, end) > pivot.
            int lt = 0, i = 0, gt = values.Length - 1;
            while (i <= gt)
            {
                var x = values[i];
                if (x < pivot)
                {
                    values[i++] = values[lt];
                    values[lt++] = x;
                }
                else if (x > pivot)
                {
                    values[i] = values[gt];
                    values[gt--] = x;
                }
                else i++;
            }
            // Ranks below lt go left, ranks in [lt, gt] are in place, ranks above gt go right.
            var left = 0;
            while (left < ranks.Length && ranks[left] - offset < lt) left++;
            var right = left;
            while (right < ranks.Length && ranks[right] - offset <= gt) right++;
            Select(values[..lt], ranks[..left], offset);
            offset += gt + 1;
            values = values[(gt + 1)..];
            ranks = ranks[right..];
        }
    }
}

/// <summary>Does each value of a column map to exactly one target value?</summary>
internal sealed class LeakageTracker
{
    private const int MaxValues = 1000;
    private Dictionary<string, string>? _map = new(StringComparer.Ordinal);
    public long Pairs { get; private set; }

    /// <summary>Records one (value, non-missing target) pair; strings are made only for a value not seen before.</summary>
    public void Add(ReadOnlySpan<char> value, ReadOnlySpan<char> target)
    {
        if (_map is null) return;
        Pairs++;
        if (_map.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(value, out var t))
        {
            if (!target.SequenceEqual(t)) _map = null;
            return;
        }
        if (_map.Count >= MaxValues) { _map = null; return; }
        _map[value.ToString()] = target.ToString();
    }

    /// <summary>True when at least two values each map to one target value, the values repeat, and the target varies.</summary>
    public bool IsPerfect => _map is not null && _map.Count >= 2 && _map.Count * 2 <= Pairs && _map.Values.Distinct().Count() >= 2;
}

internal sealed partial class ColumnAccumulator
{
    internal const int LateDecisionValues = 1000;

    private readonly ColumnOverride? _override;
    private List<string>? _pending = [];
    private long _pendingQuoted;
    private readonly DistinctCounter? _distinct;
    private TopCounter? _top;
    private NumericTopCounter? _numericTop;
    private NumericStats? _numeric;
    private long _invalid;
    private bool _sawFraction;
    private long _lengthMin = long.MaxValue, _lengthMax, _lengthSum, _lengthN;
    /// <summary>
    /// A categorical column's distinct values are the top counter's keys while it counts exactly: they are hashed
    /// into <see cref="_distinct"/> only when it stops (or at the end), not once per value.
    /// </summary>
    private bool _distinctFromTop;
    private ulong[] _hashes = new ulong[1024];
    private double[] _numbers = [];
    private long _trues, _falses;
    /// <summary>UTC ticks of the earliest and latest date (no date yet while <c>_minDate &gt; _maxDate</c>).</summary>
    private long _minDate = long.MaxValue, _maxDate = long.MinValue;

    public ColumnAccumulator(string name, ColumnOverride? columnOverride, bool trackLeakage, long priorRows)
    {
        Name = name;
        _override = columnOverride;
        Ignored = columnOverride?.Ignored == true;
        Count = Missing = priorRows;
        if (!Ignored) _distinct = new DistinctCounter();
        if (trackLeakage && !Ignored) Leakage = new LeakageTracker();
    }

    public string Name { get; }
    public bool Ignored { get; }
    public long Count { get; private set; }
    public long Missing { get; private set; }
    public ColumnType? Type { get; private set; }
    public string? DateFormat { get; private set; }
    public bool Decided => Type is not null;
    public int PendingCount => _pending?.Count ?? 0;
    public LeakageTracker? Leakage { get; }
    public long Invalid => _invalid;

    /// <summary>A null value (absent from the row).</summary>
    public void AddNull()
    {
        Count++;
        Missing++;
    }

    /// <summary>A raw value (normalised here); nothing is allocated once the type is decided.</summary>
    public void Add(ReadOnlySpan<char> raw, ReadOnlySpan<char> target, bool hasTarget)
    {
        Count++;
        var v = Values.Normalize(raw, out var quoted);
        if (Values.IsMissing(v))
        {
            Missing++;
            return;
        }
        if (Ignored && Type is not null) return;
        if (hasTarget) Leakage?.Add(v, target);
        if (_pending is not null)
        {
            _pending.Add(v.ToString());
            if (quoted) _pendingQuoted++;
            return;
        }
        Feed(v);
    }

    public void Decide()
    {
        if (Type is not null) return;
        var pending = _pending ?? [];
        (Type, DateFormat) = Infer(Name, pending);
        if (_override?.Type is { } forced)
        {
            Type = forced;
            if (forced != ColumnType.DateTime) DateFormat = null;
        }
        else if (pending.Count > 0 && _pendingQuoted >= 0.95 * pending.Count && Type is ColumnType.Integer or ColumnType.Float or ColumnType.Boolean)
        {
            Type = ColumnType.Categorical;
        }
        _top = Type switch
        {
            ColumnType.Categorical or ColumnType.Boolean => new TopCounter(10_000, 1_000),
            _ => null,
        };
        if (Type == ColumnType.Integer) _numericTop = new NumericTopCounter(1_000);
        if (Type is ColumnType.Integer or ColumnType.Float) _numeric = new NumericStats();
        _distinctFromTop = Type == ColumnType.Categorical && _distinct is not null;
        _pending = null;
        if (Ignored) return;
        if (Type is ColumnType.Integer or ColumnType.Float) AddNumbers(pending);
        else foreach (var v in pending) Feed(v);
    }

    /// <summary>
    /// Values <paramref name="first"/>..<paramref name="end"/> of column <paramref name="column"/> of a batch, for a decided column with no
    /// target to track: the steps of <see cref="Add"/>, in one loop (numbers parsed first, then summed and counted
    /// in bulk).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddColumn(RowBatch batch, int column, int first, int end)
    {
        Count += end - first;
        if (Type is ColumnType.Integer or ColumnType.Float && !Ignored)
        {
            AddNumbers(batch, column, first, end);
            return;
        }
        var hashes = 0;
        for (var r = first; r < end; r++)
        {
            var v = Values.Normalize(batch.Field(r, column), out _);
            if (Values.IsMissing(v))
            {
                Missing++;
                continue;
            }
            if (Ignored) continue;
            if (DistinctByText && !_distinctFromTop && _distinct is not null)
            {
                // Hashed now, counted after the loop in one go (the count does not depend on the order).
                if (hashes == _hashes.Length) Array.Resize(ref _hashes, hashes * 2);
                _hashes[hashes++] = DistinctCounter.Hash(v);
            }
            FeedValue(v);
        }
        _distinct?.AddHashes(_hashes.AsSpan(0, hashes));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddNumbers(RowBatch batch, int column, int first, int end)
    {
        var numbers = NumberBuffer(end - first);
        var count = 0;
        for (var r = first; r < end; r++)
        {
            var v = Values.Normalize(batch.Field(r, column), out _);
            if (Values.IsMissing(v))
            {
                Missing++;
                continue;
            }
            ParseNumber(v, numbers, ref count);
        }
        AddParsed(numbers.AsSpan(0, count));
    }

    /// <summary>The sample's values (normalised, none missing) of a column just decided to hold numbers.</summary>
    private void AddNumbers(List<string> pending)
    {
        var numbers = NumberBuffer(pending.Count);
        var count = 0;
        foreach (var v in pending) ParseNumber(v, numbers, ref count);
        AddParsed(numbers.AsSpan(0, count));
    }

    private double[] NumberBuffer(int length)
    {
        if (_numbers.Length < length) _numbers = new double[length];
        return _numbers;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ParseNumber(ReadOnlySpan<char> v, double[] numbers, ref int count)
    {
        if (!Values.TryDouble(v, out var d))
        {
            Bad();
            return;
        }
        if (Type == ColumnType.Integer && !_sawFraction && d != Math.Floor(d) && !Values.TryLong(v, out _)) _sawFraction = true;
        numbers[count++] = d;
    }

    /// <summary>Parsed numbers, in file order, to the statistics, the distinct count and the value counts.</summary>
    private void AddParsed(ReadOnlySpan<double> parsed)
    {
        _numeric!.AddRange(parsed);
        if (_hashes.Length < parsed.Length) _hashes = new ulong[parsed.Length];
        var hashes = _hashes.AsSpan(0, parsed.Length);
        for (var i = 0; i < parsed.Length; i++) hashes[i] = DistinctCounter.HashNumber(parsed[i]);
        if (_numericTop is { Abandoned: false } top)
        {
            for (var i = 0; i < parsed.Length; i++) top.Add(parsed[i], hashes[i]);
            // While every value has its own count, the distinct values are the counter's keys: counted from them
            // once, at the end or when the counter gives up (then with this whole batch: the count is of a set).
            if (!top.Abandoned) return;
            DistinctFromNumericTop(top);
            top.ForgetKeys();
        }
        _distinct?.AddHashes(hashes);
    }

    private void DistinctFromNumericTop(NumericTopCounter top)
    {
        foreach (var key in top.Keys) _distinct?.AddHash(DistinctCounter.HashNumber(BitConverter.Int64BitsToDouble(key)));
    }

    /// <summary>
    /// One value, counted as distinct (numbers and dates by their value: "1.50" and "1.5" are one number) and fed to
    /// its type's statistics.
    /// </summary>
    private void Feed(ReadOnlySpan<char> v)
    {
        if (DistinctByText && !_distinctFromTop) _distinct?.Add(v);
        FeedValue(v);
    }

    /// <summary>
    /// Numbers and dates are counted as distinct by value (in <see cref="FeedValue"/>), booleans by value from their
    /// two counts, other types by their text.
    /// </summary>
    private bool DistinctByText => Type is not (ColumnType.Integer or ColumnType.Float or ColumnType.DateTime or ColumnType.Boolean);

    /// <summary>A value to its type's statistics (and a number or date to the distinct count: a text is counted by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FeedValue(ReadOnlySpan<char> v)
    {
        switch (Type)
        {
            case ColumnType.Integer:
            case ColumnType.Float:
            {
                var count = 0;
                ParseNumber(v, NumberBuffer(1), ref count);
                AddParsed(_numbers.AsSpan(0, count));
                break;
            }
            case ColumnType.Boolean:
                if (!Values.TryConvertBoolean(v, out var x)) Bad();
                else if (x) _trues++;
                else _falses++;
                break;
            case ColumnType.DateTime:
                if (Values.TryConvertDateTicks(v, DateFormat, out var ticks))
                {
                    _distinct?.AddHash(DistinctCounter.HashBits((ulong)ticks));
                    if (ticks < _minDate) _minDate = ticks;
                    if (ticks > _maxDate) _maxDate = ticks;
                }
                else Bad();
                break;
            case ColumnType.Categorical:
                if (_distinctFromTop && !_top!.CountsExactly(v))
                {
                    DistinctFromTop();
                    _distinct!.Add(v);
                }
                _top!.Add(v);
                Length(v);
                break;
            default:
                Length(v);
                break;
        }
    }

    private void DistinctFromTop()
    {
        foreach (var value in _top!.Keys) _distinct!.Add(value);
        _distinctFromTop = false;
    }

    private void Bad()
    {
        _invalid++;
        Missing++;
    }

    private void Length(ReadOnlySpan<char> v)
    {
        _lengthN++;
        _lengthSum += v.Length;
        if (v.Length < _lengthMin) _lengthMin = v.Length;
        if (v.Length > _lengthMax) _lengthMax = v.Length;
    }

    public ColumnType FinalType => !(_override?.Type is not null) && Type == ColumnType.Integer && _sawFraction ? ColumnType.Float : Type ?? ColumnType.Text;

    public ColumnSchema Schema() => new(Name, FinalType, Ignored, _override?.Type is not null, FinalType == ColumnType.DateTime ? DateFormat : null);

    public ColumnProfile Profile()
    {
        var type = FinalType;
        if (Ignored) return new ColumnProfile { Name = Name, Type = type, Count = Count, Missing = Missing };
        if (_distinctFromTop) DistinctFromTop();
        if (_numericTop is { Abandoned: false } counted) DistinctFromNumericTop(counted);
        var p = new ColumnProfile
        {
            Name = Name,
            Type = type,
            Count = Count,
            Missing = Missing,
            Distinct = type == ColumnType.Boolean ? (_trues > 0 ? 1 : 0) + (_falses > 0 ? 1 : 0) : _distinct?.Count ?? 0,
            DistinctIsEstimate = type != ColumnType.Boolean && (_distinct?.IsEstimate ?? false),
        };
        if (_numeric is { N: > 0 } n)
        {
            var (q, h) = n.Distribution();
            p = p with { Min = n.Min, Max = n.Max, Mean = n.Mean, Std = n.Std, Quantiles = q, Histogram = h };
        }
        // Booleans are counted in two numbers; their top values are the same as if each had been counted by name.
        if (_trues > 0) _top?.Add("true", _trues);
        if (_falses > 0) _top?.Add("false", _falses);
        _trues = _falses = 0;
        if (_top is { } top && (type != ColumnType.Integer && type != ColumnType.Float || top.Size <= 20))
            p = p with { TopValues = top.Top(20) };
        if (_numericTop is { Abandoned: false } numericTop && numericTop.Size <= 20)
            p = p with { TopValues = numericTop.Top(20) };
        if (type is ColumnType.Text or ColumnType.Categorical or ColumnType.Id && _lengthN > 0)
            p = p with { MinLength = _lengthMin, MaxLength = _lengthMax, MeanLength = (double)_lengthSum / _lengthN };
        if (_minDate <= _maxDate)
            p = p with { MinDate = Values.FormatDate(new DateTimeOffset(_minDate, TimeSpan.Zero)), MaxDate = Values.FormatDate(new DateTimeOffset(_maxDate, TimeSpan.Zero)) };
        return p;
    }

    [GeneratedRegex(@"^(id|idx|index|key|uuid|guid)$|[_\- ](id|key)$|[a-z]Id$|^id[_\- ]", RegexOptions.CultureInvariant)]
    private static partial Regex IdName();

    /// <summary>Infers a column's type from its non-missing, normalised sample values.</summary>
    internal static (ColumnType Type, string? DateFormat) Infer(string name, List<string> values)
    {
        var n = values.Count;
        if (n == 0) return (ColumnType.Text, null);
        const double share = 0.95;
        int ints = 0, nums = 0, bools = 0;
        // Distinct values by their 64-bit hashes, as the profile counts them (no string comparisons).
        var hashes = new ULongSet();
        foreach (var v in values)
        {
            hashes.Add(DistinctCounter.Hash(v));
            if (Values.TryDouble(v, out _))
            {
                nums++;
                if (Values.IsInteger(v)) ints++;
            }
            else if (Values.TryBoolean(v, out _)) bools++;
        }
        var distinct = hashes.Count;
        if (nums >= share * n)
        {
            if (ints == nums)
            {
                if (distinct == n && n >= 20 && (IdName().IsMatch(name) || IsIncreasing(values))) return (ColumnType.Id, null);
                return (ColumnType.Integer, null);
            }
            return (ColumnType.Float, null);
        }
        if (bools >= share * n) return (ColumnType.Boolean, null);
        if (nums < n / 2)
        {
            string? best = null;
            var bestCount = 0;
            foreach (var f in Values.DateFormats)
            {
                var ok = 0;
                foreach (var v in values)
                {
                    if (Values.TryDate(v, f, out _)) ok++;
                    else if (ok == 0 && n > 20) break;
                }
                if (ok > bestCount) { best = f; bestCount = ok; }
                if (ok == n) break;
            }
            if (best is not null && bestCount >= share * n) return (ColumnType.DateTime, best);
        }
        double lengthSum = 0;
        var withSpaces = 0;
        foreach (var v in values)
        {
            lengthSum += v.Length;
            if (v.Contains(' ')) withSpaces++;
        }
        var meanLength = lengthSum / n;
        if (distinct <= 50 && (distinct < n || n < 20)) return (ColumnType.Categorical, null);
        if (distinct == n && n >= 20 && meanLength <= 64 && withSpaces < 0.5 * n) return (ColumnType.Id, null);
        if (distinct <= 0.5 * n && meanLength <= 50) return (ColumnType.Categorical, null);
        return (ColumnType.Text, null);
    }

    private static bool IsIncreasing(List<string> values)
    {
        long previous = long.MinValue;
        foreach (var v in values)
        {
            if (!Values.TryLong(v, out var x) || x <= previous) return false;
            previous = x;
        }
        return true;
    }
}

/// <summary>
/// One pass over the rows: a type decision from a sample, then the profile of every row. Rows come one at a time
/// (<see cref="AddRow"/>) or in batches (<see cref="AddBatchAsync"/>): after the sample, a batch is profiled column
/// by column, the columns shared between a worker and the caller, while the caller reads the next batch.
/// </summary>
internal sealed class Profiler(ReadOptions options)
{
    internal const int SampleRows = 10_000;
    /// <summary>Budget for the buffered sample, in chars plus <see cref="PerValueOverhead"/> per value (wide files sample fewer rows).</summary>
    internal const long SampleChars = 32L * 1024 * 1024;
    private const int PerValueOverhead = 16;

    private readonly List<ColumnAccumulator> _columns = [];
    private long _sampleChars;
    private bool _sampled;
    private int _targetIndex = -1;
    private ColumnJob? _job;
    /// <summary>The order in which a batch's columns are taken, and what each took last time (Stopwatch ticks).</summary>
    private int[] _columnOrder = [];
    private long[] _columnTicks = [];

    public long RowCount { get; private set; }

    /// <summary>Throws once more than MaxRows rows were read (checked as rows are read, before they are profiled).</summary>
    public void CheckRowLimit(long rows)
    {
        if (rows > options.Limits.MaxRows)
            throw TableSource.Structural(0, null, $"The file has more than MaxRows ({options.Limits.MaxRows}) rows.");
    }

    /// <summary>
    /// Profiles <paramref name="batch"/> (its rows follow every row added before): the rows in the type-inference
    /// sample at once (column by column on both cores; the types are decided when the sample is complete), the
    /// rest in the background. Returns a batch whose profile is done, for its buffers to be reused, or null.
    /// </summary>
    public async ValueTask<RowBatch?> AddBatchAsync(RowBatch batch, List<string> names)
    {
        var done = await FinishJobAsync();
        AddColumns(names);
        if (_columnOrder.Length != batch.Columns)
        {
            _columnOrder = [.. Enumerable.Range(0, batch.Columns)];
            _columnTicks = new long[batch.Columns];
        }
        var first = 0;
        if (!_sampled)
        {
            first = SampleRowsOf(batch);
            RowCount += first;
            var sample = new ColumnJob(this, batch, 0, first, sampling: true);
            sample.Start();
            sample.Run();
            await sample.Completion;
            if (_sampled) Parallel.ForEach(_columns, c => c.Decide());
        }
        if (first == batch.Rows) return done ?? batch;
        RowCount += batch.Rows - first;
        _job = new ColumnJob(this, batch, first, batch.Rows, sampling: false);
        _job.Start();
        return done;
    }

    /// <summary>How many of the batch's first rows complete the sample (all of them while it is not complete).</summary>
    private int SampleRowsOf(RowBatch batch)
    {
        var rows = RowCount;
        for (var r = 0; r < batch.Rows; r++)
        {
            // The row's fields and the separators between them, as AddRowCore counts each value.
            var rowStart = r == 0 ? 0 : batch.Ends[r * batch.Columns - 1] + 1;
            var rowEnd = batch.Ends[(r + 1) * batch.Columns - 1];
            _sampleChars += rowEnd - rowStart - (batch.Columns - 1) + (long)batch.Columns * PerValueOverhead;
            if (++rows >= SampleRows || _sampleChars >= SampleChars)
            {
                _sampled = true;
                return r + 1;
            }
        }
        return batch.Rows;
    }

    private void AddColumns(List<string> names)
    {
        while (_columns.Count < names.Count)
        {
            var name = names[_columns.Count];
            options.Overrides.TryGetValue(name, out var o);
            if (name == options.Target) _targetIndex = _columns.Count;
            _columns.Add(new ColumnAccumulator(name, o, options.Target is not null && name != options.Target, RowCount));
        }
    }

    /// <summary>Waits for the batch in the background, helping with its columns; returns it.</summary>
    private async ValueTask<RowBatch?> FinishJobAsync()
    {
        if (_job is not { } job) return null;
        _job = null;
        job.Run();
        await job.Completion;
        // Longest first next time (both threads are done with the columns: no race on the arrays).
        Array.Sort(_columnOrder, (a, b) => _columnTicks[b].CompareTo(_columnTicks[a]));
        return job.Batch;
    }

    /// <summary>One row of a source that is not read in batches (JSON Lines, Parquet).</summary>
    public void AddRow(TableSource row)
    {
        CheckRowLimit(RowCount + 1);
        AddColumns(row.Columns);
        RowCount++;
        var fieldCount = row.FieldCount;
        var target = ReadOnlySpan<char>.Empty;
        var hasTarget = _targetIndex >= 0 && _targetIndex < fieldCount && row.TryGetField(_targetIndex, out target)
            && TargetValue(ref target);
        for (var i = 0; i < _columns.Count; i++)
        {
            var c = _columns[i];
            if (i < fieldCount && row.TryGetField(i, out var v))
            {
                c.Add(v, target, hasTarget);
                if (!_sampled) _sampleChars += v.Length + PerValueOverhead;
            }
            else c.AddNull();
            if (_sampled && !c.Decided && c.PendingCount >= ColumnAccumulator.LateDecisionValues) c.Decide();
        }
        if (!_sampled && (RowCount >= SampleRows || _sampleChars >= SampleChars))
        {
            _sampled = true;
            // Columns are independent: decided (and their sample replayed) on both cores.
            Parallel.ForEach(_columns, c => c.Decide());
        }
    }

    /// <summary>Normalises a raw target value; false when it is missing.</summary>
    private static bool TargetValue(ref ReadOnlySpan<char> value)
    {
        value = Values.Normalize(value, out _);
        return !Values.IsMissing(value);
    }

    /// <summary>
    /// Rows <c>firstRow..endRow</c> of a batch, column by column: the worker and the caller take columns in turn, so
    /// each column sees its values in file order (one batch at a time). The columns that took longest in the last
    /// batch are taken first, so that the last ones taken are short and neither thread waits long for the other.
    /// In the sample (<paramref name="sampling"/>) values are only collected: the types are decided after it.
    /// </summary>
    private sealed class ColumnJob(Profiler profiler, RowBatch batch, int firstRow, int endRow, bool sampling)
    {
        private int _next = -1;
        public RowBatch Batch => batch;
        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Start() => Completion = Task.Run(Run);

        public void Run()
        {
            var order = profiler._columnOrder;
            int i;
            while ((i = Interlocked.Increment(ref _next)) < batch.Columns)
            {
                var column = order[i];
                var start = Stopwatch.GetTimestamp();
                Profile(column);
                profiler._columnTicks[column] = Stopwatch.GetTimestamp() - start;
            }
        }

        private void Profile(int column)
        {
            var accumulator = profiler._columns[column];
            var targetIndex = profiler._targetIndex;
            var trackTarget = accumulator.Leakage is not null && targetIndex >= 0;
            if (accumulator.Decided && !trackTarget)
            {
                accumulator.AddColumn(batch, column, firstRow, endRow);
                return;
            }
            var target = ReadOnlySpan<char>.Empty;
            var hasTarget = false;
            for (var r = firstRow; r < endRow; r++)
            {
                if (trackTarget)
                {
                    target = batch.Field(r, targetIndex);
                    hasTarget = TargetValue(ref target);
                }
                accumulator.Add(batch.Field(r, column), target, hasTarget);
                if (!sampling && !accumulator.Decided && accumulator.PendingCount >= ColumnAccumulator.LateDecisionValues) accumulator.Decide();
            }
        }
    }

    public async ValueTask<(DatasetSchema Schema, DatasetProfile Profile)> FinishAsync()
    {
        await FinishJobAsync();
        Parallel.ForEach(_columns, c => c.Decide());
        var warnings = new List<ProfileWarning>();
        var profiles = new ColumnProfile[_columns.Count];
        Parallel.For(0, profiles.Length, i => profiles[i] = _columns[i].Profile());
        for (var i = 0; i < profiles.Length; i++)
        {
            var c = _columns[i];
            var p = profiles[i];
            if (c.Ignored) continue;
            var present = p.Count - p.Missing;
            if (p.Count > 0 && p.Missing > 0.5 * p.Count)
                warnings.Add(new ProfileWarning("high-missing", c.Name, $"{p.Missing} of {p.Count} values are missing."));
            if (present > 0 && p.Distinct == 1)
                warnings.Add(new ProfileWarning("constant", c.Name, "The column has a single distinct value."));
            if (p.Type == ColumnType.Id || (p.Type == ColumnType.Integer && p.Missing == 0 && p.Count >= 20 && p.Distinct == p.Count))
                warnings.Add(new ProfileWarning("likely-id", c.Name, "Every value is distinct: an identifier, not a feature."));
            if (c.Invalid > 0)
                warnings.Add(new ProfileWarning("mixed-types", c.Name, $"{c.Invalid} values do not parse as {p.Type}; they are counted as missing."));
            if (c.Leakage is { IsPerfect: true } && p.Type is ColumnType.Categorical or ColumnType.Boolean or ColumnType.Integer)
                warnings.Add(new ProfileWarning("target-leakage", c.Name, $"Each value of '{c.Name}' determines '{options.Target}': it leaks the target."));
        }
        var schema = new DatasetSchema(_columns.Select(c => c.Schema()).ToList());
        return (schema, new DatasetProfile(RowCount, profiles, warnings));
    }
}
