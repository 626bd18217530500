using Microsoft.ML;
using Microsoft.ML.Data;

namespace Gureum.ML.Training;

/// <summary>One numeric column as ML.NET sees it: a raw number or a part of a date, imputed with the training mean.</summary>
internal sealed record PreparedNumeric(string Name, int Input, string Part, float Mean, bool Indicator);

/// <summary>
/// What was learned from the training rows before any model: imputation means, which columns get a missing
/// indicator, the classes and their balancing weights. Saved with the model so prediction prepares rows the same way.
/// </summary>
internal sealed record FeatureState(
    TrainingTask Task,
    string Target,
    IReadOnlyList<ModelInput> Inputs,
    IReadOnlyList<PreparedNumeric> Numerics,
    IReadOnlyList<string>? Classes,
    IReadOnlyList<float>? ClassWeights)
{
    internal static readonly string[] DateParts = ["year", "month", "day", "dayOfWeek", "dayOfYear", "hour", "minute", "days"];

    public static FeatureState Fit(FeatureTable table, IReadOnlyList<int> rows, TrainingTask task, string target, IReadOnlyList<string>? classes)
    {
        var numerics = new List<PreparedNumeric>();
        for (var i = 0; i < table.Inputs.Count; i++)
        {
            var input = table.Inputs[i];
            if (FeatureTable.IsString(input)) continue;
            foreach (var part in input.Encoding == "datetime" ? DateParts : [""])
            {
                double sum = 0;
                long count = 0;
                foreach (var r in rows)
                {
                    var v = Value(table.Number(i, r), part);
                    if (double.IsNaN(v)) continue;
                    sum += v;
                    count++;
                }
                var name = part.Length == 0 ? $"n{i}" : $"n{i}.{part}";
                numerics.Add(new PreparedNumeric(name, i, part, count == 0 ? 0 : (float)(sum / count), count < rows.Count));
            }
        }
        IReadOnlyList<float>? weights = null;
        if (classes is not null)
        {
            // Balanced weights: each class carries the same total weight (n / (k * n_c)).
            var counts = new long[classes.Count];
            foreach (var r in rows) counts[(int)table.Labels[r]]++;
            weights = [.. counts.Select(c => c == 0 ? 0f : (float)(rows.Count / ((double)classes.Count * c)))];
        }
        return new FeatureState(task, target, table.Inputs, numerics, classes, weights);
    }

    /// <summary>A raw number, or a part of a date held as seconds since the epoch.</summary>
    internal static double Value(double raw, string part)
    {
        if (part.Length == 0 || double.IsNaN(raw)) return raw;
        var d = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(raw * 1000)).UtcDateTime;
        return part switch
        {
            "year" => d.Year,
            "month" => d.Month,
            "day" => d.Day,
            "dayOfWeek" => (int)d.DayOfWeek,
            "dayOfYear" => d.DayOfYear,
            "hour" => d.Hour,
            "minute" => d.Minute,
            _ => raw / 86_400.0,
        };
    }
}

/// <summary>
/// An <see cref="IDataView"/> over a <see cref="FeatureTable"/>'s rows (a subset, in order), prepared with a
/// <see cref="FeatureState"/>. Optionally some raw columns read from shuffled rows (permutation importance).
/// </summary>
internal sealed class FeatureView : IDataView
{
    public const string Label = "Label";
    public const string Weight = "Weight";

    private readonly FeatureTable _table;
    private readonly FeatureState _state;
    private readonly int[] _rows;
    private readonly IReadOnlyDictionary<int, int[]> _shuffled;
    /// <summary>Per schema column: makes a getter reading at the cursor's current position.</summary>
    private readonly Func<Func<int>, Delegate>[] _columns;

    /// <param name="schema">
    /// The schema of an earlier view of the same state and label choice, to be reused: ML.NET row mappers are bound to
    /// one schema object (see <see cref="TrainedModel.Predict"/>).
    /// </param>
    public FeatureView(FeatureTable table, FeatureState state, int[] rows, bool withLabel, IReadOnlyDictionary<int, int[]>? shuffled = null,
        DataViewSchema? schema = null)
    {
        _table = table;
        _state = state;
        _rows = rows;
        _shuffled = shuffled ?? new Dictionary<int, int[]>();
        var builder = new DataViewSchema.Builder();
        var factories = new List<Func<Func<int>, Delegate>>();
        foreach (var n in state.Numerics)
        {
            builder.AddColumn(n.Name, NumberDataViewType.Single);
            factories.Add(position => (ValueGetter<float>)((ref float v) =>
            {
                var x = FeatureState.Value(_table.Number(n.Input, Source(n.Input, position())), n.Part);
                v = double.IsNaN(x) ? n.Mean : (float)x;
            }));
            if (n.Indicator)
            {
                builder.AddColumn(n.Name + ".missing", NumberDataViewType.Single);
                factories.Add(position => (ValueGetter<float>)((ref float v) =>
                    v = double.IsNaN(_table.Number(n.Input, Source(n.Input, position()))) ? 1 : 0));
            }
        }
        for (var i = 0; i < table.Inputs.Count; i++)
        {
            if (!FeatureTable.IsString(table.Inputs[i])) continue;
            var input = i;
            builder.AddColumn(StringColumn(i), TextDataViewType.Instance);
            factories.Add(position => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) =>
                v = (_table.String(input, Source(input, position())) ?? "").AsMemory()));
        }
        if (withLabel)
        {
            switch (state.Task)
            {
                case TrainingTask.Binary:
                    builder.AddColumn(Label, BooleanDataViewType.Instance);
                    factories.Add(position => (ValueGetter<bool>)((ref bool v) => v = _table.Labels[_rows[position()]] == 1));
                    break;
                case TrainingTask.Multiclass:
                    builder.AddColumn(Label, new KeyDataViewType(typeof(uint), state.Classes!.Count));
                    factories.Add(position => (ValueGetter<uint>)((ref uint v) => v = (uint)(_table.Labels[_rows[position()]] + 1)));
                    break;
                default:
                    builder.AddColumn(Label, NumberDataViewType.Single);
                    factories.Add(position => (ValueGetter<float>)((ref float v) => v = _table.Labels[_rows[position()]]));
                    break;
            }
            if (state.ClassWeights is { } weights)
            {
                builder.AddColumn(Weight, NumberDataViewType.Single);
                factories.Add(position => (ValueGetter<float>)((ref float v) => v = weights[(int)_table.Labels[_rows[position()]]]));
            }
        }
        Schema = schema ?? builder.ToSchema();
        if (Schema.Count != factories.Count) throw new ArgumentException("The reused schema is not this view's.", nameof(schema));
        _columns = [.. factories];
    }

    internal static string StringColumn(int input) => $"s{input}";

    private int Source(int input, int position) =>
        _shuffled.TryGetValue(input, out var map) ? _rows[map[position]] : _rows[position];

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    /// <summary>The table rows (in view order) behind this view.</summary>
    public int[] Rows => _rows;

    /// <summary>The label of each row in view order: class index (classification) or value (regression).</summary>
    public float[] LabelValues() => [.. _rows.Select(r => _table.Labels[r])];

    private sealed class Cursor(FeatureView view) : DataViewRowCursor
    {
        private int _position = -1;
        private readonly Dictionary<int, Delegate> _getters = [];

        public override long Position => _position;
        public override long Batch => 0;
        public override DataViewSchema Schema => view.Schema;

        public override bool MoveNext()
        {
            if (_position + 1 < view._rows.Length)
            {
                _position++;
                return true;
            }
            _position = view._rows.Length;
            return false;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_getters.TryGetValue(column.Index, out var getter))
            {
                getter = view._columns[column.Index](() => _position);
                _getters[column.Index] = getter;
            }
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId v) => v = new DataViewRowId((ulong)_position, 0);
    }
}
