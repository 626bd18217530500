using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gureum.Server.Features.Monitoring;

/// <summary>
/// One thing a drift computation counts live values of (an input column, or the prediction) and the bins it counts
/// them into: a numeric target bins a number by the first histogram bin whose end is above it (the last bin takes the
/// rest, NaN included); a categorical target bins a value by its text among the known values, or "other" (the last bin).
/// Counts live in one flat array: <c>[Offset]</c> counts values present but not numbers (numeric targets only),
/// <c>[Offset + 1 + b]</c> bin b.
/// </summary>
internal sealed class DriftTarget
{
    private readonly double[] _ends;
    private readonly bool _ascending;
    private readonly Utf8Keys? _known;

    private DriftTarget(string name, double[] ends, Utf8Keys? known, int bins)
    {
        Name = name;
        _ends = ends;
        _known = known;
        Bins = bins;
        _ascending = true;
        for (var i = 1; i < ends.Length; i++)
        {
            if (!(ends[i - 1] <= ends[i])) _ascending = false;
        }
    }

    public string Name { get; }
    public bool Numeric => _known is null;
    /// <summary>Numeric: the histogram's bins; categorical: the known values plus "other".</summary>
    public int Bins { get; }
    public int Offset { get; set; }
    public int Slots => Bins + 1;

    public static DriftTarget Numbers(string name, double[] ends) => new(name, ends, null, ends.Length);

    public static DriftTarget Categories(string name, IEnumerable<string> known)
    {
        var keys = new Utf8Keys(known);
        return new DriftTarget(name, [], keys, keys.Count + 1);
    }

    /// <summary>
    /// The first bin whose end is above <paramref name="x"/>, else the last. When the ends ascend (they do in every
    /// profile) that is the number of ends up to x but the last: counted without branches for a profile's 20 bins (a
    /// binary search there mispredicts about every other step), by binary search for long histograms.
    /// </summary>
    public int Bin(double x)
    {
        var ends = _ends;
        if (_ascending)
        {
            if (double.IsNaN(x)) return ends.Length - 1;
            if (ends.Length <= 32)
            {
                var n = 0;
                for (var b = 0; b < ends.Length - 1; b++) n += ends[b] <= x ? 1 : 0;
                return n;
            }
            int lo = 0, hi = ends.Length - 1;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (x < ends[mid]) hi = mid;
                else lo = mid + 1;
            }
            return lo;
        }
        for (var b = 0; b < ends.Length - 1; b++)
        {
            if (x < ends[b]) return b;
        }
        return ends.Length - 1;
    }

    /// <summary>The bin of a value by its text (UTF-8): its place among the known values, or "other".</summary>
    public int Category(ReadOnlySpan<byte> text) => _known!.IndexOf(text) is var i and >= 0 ? i : Bins - 1;
}

/// <summary>Strings as UTF-8 keys, looked up by a span of UTF-8 bytes without decoding it (ordinal, as string equality).</summary>
internal sealed class Utf8Keys
{
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public Utf8Keys(IEnumerable<string> keys)
    {
        var dictionary = new Dictionary<byte[], int>(Utf8Comparer.Instance);
        foreach (var key in keys)
        {
            dictionary.TryAdd(Encoding.UTF8.GetBytes(key), dictionary.Count);
        }
        _lookup = dictionary.GetAlternateLookup<ReadOnlySpan<byte>>();
        Keys = [.. dictionary.OrderBy(k => k.Value).Select(k => k.Key)];
    }

    public int Count => Keys.Length;
    public byte[][] Keys { get; }

    public int IndexOf(ReadOnlySpan<byte> key) => _lookup.TryGetValue(key, out var i) ? i : -1;

    private sealed class Utf8Comparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly Utf8Comparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] key) => Hash(key);
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<byte> key)
        {
            var hash = new HashCode();
            hash.AddBytes(key);
            return hash.ToHashCode();
        }
    }
}

/// <summary>What one drift computation counts: the input columns (found in each record by name) and optionally the prediction.</summary>
internal sealed class DriftLayout
{
    public DriftLayout(IReadOnlyList<DriftTarget> features, DriftTarget? prediction, string? predictionField)
    {
        Features = [.. features];
        Prediction = prediction;
        PredictionField = predictionField is null ? null : Encoding.UTF8.GetBytes(predictionField);
        Names = new Utf8Keys(Features.Select(f => f.Name));
        var offset = 0;
        foreach (var target in Features.Append(prediction).OfType<DriftTarget>())
        {
            target.Offset = offset;
            offset += target.Slots;
        }
        Slots = offset;
    }

    public DriftTarget[] Features { get; }
    public DriftTarget? Prediction { get; }
    /// <summary>The field of each prediction that is counted: <c>label</c> or <c>score</c>.</summary>
    public byte[]? PredictionField { get; }
    /// <summary>Feature names, in the order of <see cref="Features"/> (distinct names are assumed).</summary>
    public Utf8Keys Names { get; }
    public int Slots { get; }
}

/// <summary>
/// One sampled request on its way through a drift computation: its input and output JSON (UTF-8), then what parsing
/// found: the rows of each (-1: unreadable, skipped as a whole) and the counts to add, as a list of flat count indexes
/// (<see cref="Log"/>; input entries before <see cref="Split"/>, prediction entries after it; -1: nothing).
/// </summary>
internal sealed class DriftSample
{
    public byte[] Input = [];
    public int InputLength;
    public bool InputRented;
    public byte[]? Output;
    public int OutputLength;
    public bool OutputRented;
    public int InputRows = -1;
    public int OutputRows = -1;
    public int[] Log = [];
    public int Split;
    public int Count;

    public void Add(int entry)
    {
        if (Count == Log.Length)
        {
            var larger = ArrayPool<int>.Shared.Rent(Math.Max(1024, Log.Length * 2));
            Log.AsSpan(0, Count).CopyTo(larger);
            if (Log.Length > 0) ArrayPool<int>.Shared.Return(Log);
            Log = larger;
        }
        Log[Count++] = entry;
    }

    /// <summary>Gives the pooled buffers back; the sample is not used after this.</summary>
    public void Release()
    {
        if (InputRented) ArrayPool<byte>.Shared.Return(Input);
        if (OutputRented && Output is not null) ArrayPool<byte>.Shared.Return(Output);
        if (Log.Length > 0) ArrayPool<int>.Shared.Return(Log);
        Input = [];
        Output = null;
        Log = [];
    }
}

/// <summary>Live counts of one drift computation; samples are added whole, in order.</summary>
internal sealed class DriftCounts(DriftLayout layout)
{
    public long[] Slots { get; } = new long[layout.Slots];
    /// <summary>Records read from sampled inputs (every feature has one value per record, present or missing).</summary>
    public long Rows { get; private set; }
    /// <summary>Predictions read from sampled outputs of the version whose baseline is compared.</summary>
    public long PredictionRows { get; private set; }
    public long Samples { get; private set; }

    public void Add(DriftSample sample)
    {
        Samples++;
        var log = sample.Log;
        if (sample.InputRows >= 0)
        {
            Rows += sample.InputRows;
            for (var i = 0; i < sample.Split; i++)
            {
                if (log[i] >= 0) Slots[log[i]]++;
            }
        }
        if (sample.OutputRows >= 0)
        {
            PredictionRows += sample.OutputRows;
            for (var i = sample.Split; i < sample.Count; i++)
            {
                if (log[i] >= 0) Slots[log[i]]++;
            }
        }
    }

    /// <summary>Values present (not null, not an empty string) of a target.</summary>
    public long Present(DriftTarget target)
    {
        long n = 0;
        for (var s = 0; s < target.Slots; s++) n += Slots[target.Offset + s];
        return n;
    }

    /// <summary>Counts per bin of a target.</summary>
    public long[] Bins(DriftTarget target) => Slots.AsSpan(target.Offset + 1, target.Bins).ToArray();
}

/// <summary>
/// Reads a sample's JSON once with <see cref="Utf8JsonReader"/> and logs, per record and tracked feature, the count to
/// add (nothing is kept per value). Matches what reading it with <see cref="JsonDocument"/> and
/// <c>TryGetProperty</c> gave: the last of repeated properties wins, escaped names and strings are compared unescaped,
/// and a sample that is not valid JSON (one cut at its size bound) counts for nothing. One per thread.
/// </summary>
internal sealed class DriftSampleParser(DriftLayout layout)
{
    private readonly int[] _stamp = new int[layout.Features.Length];
    private readonly int[] _at = new int[layout.Features.Length];
    // The feature seen at each property position in the previous record: records of one client list their columns in
    // one order, so this usually finds the feature with one comparison instead of a hash lookup.
    private int[] _guess = [];
    private int _record;
    private byte[] _scratch = new byte[256];

    public void Parse(DriftSample sample)
    {
        sample.Count = 0;
        sample.InputRows = ParseRecords(sample.Input.AsSpan(0, sample.InputLength), sample);
        if (sample.InputRows < 0) sample.Count = 0;
        sample.Split = sample.Count;
        if (sample.Output is not null && layout.Prediction is not null)
        {
            sample.OutputRows = ParsePredictions(sample.Output.AsSpan(0, sample.OutputLength), sample);
            if (sample.OutputRows < 0) sample.Count = sample.Split;
        }
    }

    /// <summary><c>{"records": [{column: value, ...}, ...]}</c>: the records counted, or -1.</summary>
    private int ParseRecords(ReadOnlySpan<byte> json, DriftSample sample)
    {
        var start = sample.Count;
        var rows = -1;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRecords = reader.ValueTextEquals("records"u8);
                reader.Read();
                if (!isRecords)
                {
                    reader.Skip();
                    continue;
                }
                // A repeated "records" replaces the earlier one, as JsonDocument's lookup finds the last.
                sample.Count = start;
                rows = -1;
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                rows = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject) return -1;
                    rows++;
                    ParseRecord(ref reader, json, sample);
                }
            }
            // Whatever follows the root must be whitespace only.
            if (reader.Read()) return -1;
            return rows;
        }
        catch (JsonException)
        {
            return -1;
        }
        catch (InvalidOperationException)
        {
            // An escape that is not valid UTF-16 (a lone surrogate): unreadable as text.
            return -1;
        }
    }

    private void ParseRecord(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, DriftSample sample)
    {
        if (++_record == int.MaxValue)
        {
            Array.Clear(_stamp);
            _record = 1;
        }
        var position = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var feature = Feature(ref reader, position++);
            reader.Read();
            if (feature < 0)
            {
                reader.Skip();
                continue;
            }
            var target = layout.Features[feature];
            var entry = Entry(ref reader, json, target);
            if (_stamp[feature] == _record)
            {
                sample.Log[_at[feature]] = entry;
            }
            else
            {
                _stamp[feature] = _record;
                _at[feature] = sample.Count;
                sample.Add(entry);
            }
        }
    }

    /// <summary><c>{"predictions": [{"label"|"score": value, ...}, ...]}</c>: the predictions counted, or -1.</summary>
    private int ParsePredictions(ReadOnlySpan<byte> json, DriftSample sample)
    {
        var target = layout.Prediction!;
        var field = layout.PredictionField!;
        var start = sample.Count;
        var rows = -1;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isPredictions = reader.ValueTextEquals("predictions"u8);
                reader.Read();
                if (!isPredictions)
                {
                    reader.Skip();
                    continue;
                }
                sample.Count = start;
                rows = -1;
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                rows = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject) return -1;
                    rows++;
                    var entry = -1;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isField = reader.ValueTextEquals(field);
                        reader.Read();
                        if (isField) entry = Entry(ref reader, json, target);
                        else reader.Skip();
                    }
                    sample.Add(entry);
                }
            }
            if (reader.Read()) return -1;
            return rows;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return -1;
        }
    }

    private int Feature(ref Utf8JsonReader reader, int position)
    {
        var name = reader.ValueIsEscaped ? Unescape(ref reader) : reader.ValueSpan;
        if (position < _guess.Length && _guess[position] is var guess and >= 0 && name.SequenceEqual(layout.Names.Keys[guess]))
        {
            return guess;
        }
        var feature = layout.Names.IndexOf(name);
        if (position >= _guess.Length)
        {
            if (position >= 4096) return feature;
            Array.Resize(ref _guess, Math.Max(16, position * 2));
            _guess.AsSpan(position).Fill(-1);
        }
        _guess[position] = feature;
        return feature;
    }

    /// <summary>
    /// The flat count index a value adds to, or -1 when it is missing (null or an empty string). Numbers: JSON numbers,
    /// numeric strings (invariant culture), true = 1 and false = 0; anything else present counts as present, not binned.
    /// Categories: a string by its text, anything else by its JSON text (true, 3.5, {...}).
    /// </summary>
    private int Entry(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, DriftTarget target)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return -1;
            case JsonTokenType.String:
                if (reader.ValueSpan.IsEmpty) return -1;
                var text = reader.ValueIsEscaped ? Unescape(ref reader) : reader.ValueSpan;
                if (!target.Numeric) return target.Offset + 1 + target.Category(text);
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                    ? target.Offset + 1 + target.Bin(parsed) : target.Offset;
            case JsonTokenType.Number:
                if (!target.Numeric) return target.Offset + 1 + target.Category(reader.ValueSpan);
                return TryPlainDecimal(reader.ValueSpan, out var number) || reader.TryGetDouble(out number) ? target.Offset + 1 + target.Bin(number) : target.Offset;
            case JsonTokenType.True:
                return target.Offset + 1 + (target.Numeric ? target.Bin(1) : target.Category("true"u8));
            case JsonTokenType.False:
                return target.Offset + 1 + (target.Numeric ? target.Bin(0) : target.Category("false"u8));
            default:
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                return target.Numeric ? target.Offset : target.Offset + 1 + target.Category(json[start..(int)reader.BytesConsumed]);
        }
    }

    private static readonly double[] PowersOf10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// A JSON number without exponent and of at most 15 digits (most logged values): its digits as an integer, which a
    /// double holds exactly, divided by an exact power of ten. One correctly rounded division gives the correctly rounded
    /// value (Clinger's fast path), so the result is the one <see cref="Utf8JsonReader.TryGetDouble"/> gives, several
    /// times faster. False for anything else, which goes the general way.
    /// </summary>
    internal static bool TryPlainDecimal(ReadOnlySpan<byte> json, out double value)
    {
        value = 0;
        var i = json.Length > 0 && json[0] == '-' ? 1 : 0;
        ulong digits = 0;
        int count = 0, fraction = -1;
        for (; i < json.Length; i++)
        {
            var d = (uint)(json[i] - '0');
            if (d <= 9)
            {
                digits = digits * 10 + d;
                count++;
                if (fraction >= 0) fraction++;
            }
            else if (json[i] == '.' && fraction < 0)
            {
                fraction = 0;
            }
            else
            {
                return false;
            }
        }
        if (count is 0 or > 15 || fraction == 0) return false;
        value = fraction > 0 ? digits / PowersOf10[fraction] : digits;
        if (json[0] == '-') value = -value;
        return true;
    }

    private ReadOnlySpan<byte> Unescape(ref Utf8JsonReader reader)
    {
        if (_scratch.Length < reader.ValueSpan.Length) _scratch = new byte[Math.Max(reader.ValueSpan.Length, _scratch.Length * 2)];
        return _scratch.AsSpan(0, reader.CopyString(_scratch));
    }
}
