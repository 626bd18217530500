using System.Globalization;
using Gureum.ML.Data;
using Gureum.ML.Data.Internal;

namespace Gureum.ML.Training;

/// <summary>
/// Raw rows held in columns for training or prediction: numbers as floats (NaN when missing), dates as seconds since
/// the epoch, categoricals and text as strings, and the target turned into a label. Imputation and date parts are
/// applied later, by <see cref="FeatureView"/>, with the values learned from the training rows only.
/// </summary>
internal sealed class FeatureTable
{
    private readonly List<double>[] _numbers;
    private readonly List<string?>[] _strings;
    private readonly List<string> _targets = [];

    public IReadOnlyList<ModelInput> Inputs { get; }
    public int RowCount { get; private set; }

    /// <summary>Filled by <see cref="AssignLabels"/>.</summary>
    public float[] Labels { get; private set; } = [];

    public FeatureTable(IReadOnlyList<ModelInput> inputs)
    {
        Inputs = inputs;
        _numbers = new List<double>[inputs.Count];
        _strings = new List<string?>[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            if (IsString(inputs[i])) _strings[i] = [];
            else _numbers[i] = [];
        }
    }

    internal static bool IsString(ModelInput input) => input.Encoding is "one-hot" or "hashed" or "text";

    public double Number(int input, int row) => _numbers[input][row];

    public string? String(int input, int row) => _strings[input][row];

    public string Target(int row) => _targets[row];

    /// <summary>Adds a row of typed values (long, double, bool, DateTimeOffset, string or null by column name).</summary>
    /// <param name="targetColumn">The target column, or null when the table is for prediction.</param>
    public void Add(IReadOnlyDictionary<string, object?> row, string? targetColumn)
    {
        if (targetColumn is not null)
        {
            var t = row.GetValueOrDefault(targetColumn);
            if (t is null || t is string { Length: 0 })
            {
                return; // rows without a target value are left out of training and evaluation
            }
            _targets.Add(Values.ToInvariantString(t));
        }
        RowCount++;
        for (var i = 0; i < Inputs.Count; i++)
        {
            var value = row.GetValueOrDefault(Inputs[i].Name);
            if (_strings[i] is { } strings)
            {
                strings.Add(value is null ? null : Values.ToInvariantString(value));
            }
            else
            {
                _numbers[i].Add(ToNumber(value));
            }
        }
    }

    private static double ToNumber(object? value) => value switch
    {
        null => double.NaN,
        long l => l,
        int i => i,
        double d => d,
        float f => f,
        bool b => b ? 1 : 0,
        DateTimeOffset dt => dt.ToUnixTimeMilliseconds() / 1000.0,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => double.NaN,
    };

    /// <summary>
    /// Turns each row's target text into a label: the class index for classification (0-based, in
    /// <paramref name="classes"/> order; -1 for a class not in the list) or the number for regression.
    /// </summary>
    public void AssignLabels(TrainingTask task, IReadOnlyList<string>? classes)
    {
        var labels = new float[_targets.Count];
        if (task == TrainingTask.Regression)
        {
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = double.TryParse(_targets[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? (float)d : float.NaN;
            }
        }
        else
        {
            var index = classes!.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = index.TryGetValue(_targets[i], out var k) ? k : -1;
            }
        }
        Labels = labels;
    }

    /// <summary>The classes seen in the target, in a natural order (numbers by value, false before true, else ordinal).</summary>
    public IReadOnlyList<string> DistinctClasses()
    {
        var distinct = _targets.Distinct(StringComparer.Ordinal).ToList();
        return OrderClasses(distinct);
    }

    internal static IReadOnlyList<string> OrderClasses(List<string> classes)
    {
        if (classes.All(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            return [.. classes.OrderBy(c => double.Parse(c, NumberStyles.Float, CultureInfo.InvariantCulture)).ThenBy(c => c, StringComparer.Ordinal)];
        }
        if (classes.All(c => c is "true" or "false"))
        {
            return [.. classes.OrderBy(c => c == "true")];
        }
        return [.. classes.Order(StringComparer.Ordinal)];
    }
}
