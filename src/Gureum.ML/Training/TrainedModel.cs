using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gureum.ML.Data;
using Gureum.ML.Data.Internal;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Gureum.ML.Training;

/// <summary>One answer of a model for one input row.</summary>
public sealed record Prediction
{
    /// <summary>The predicted class (classification).</summary>
    public string? Label { get; init; }
    /// <summary>The predicted number (regression) or the raw score (binary).</summary>
    public double? Score { get; init; }
    /// <summary>Binary: the probability of the positive class, when the trainer is calibrated.</summary>
    public double? Probability { get; init; }
    /// <summary>Multiclass: the probability of each class.</summary>
    public IReadOnlyDictionary<string, double>? Probabilities { get; init; }
    /// <summary>Per raw input column: how much it moved this prediction's score (tree and linear models).</summary>
    public IReadOnlyDictionary<string, double>? Contributions { get; init; }
}

/// <summary>A row sent for prediction that does not fit the model's signature; <see cref="Field"/> names the place.</summary>
public sealed class ModelInputException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// A trained model as one file: a zip with <c>manifest.json</c> (signature, featurization state, trainer, metrics) and
/// <c>model.zip</c> (the ML.NET pipeline: featurization and trainer). Prediction takes raw rows, as in the dataset.
/// Thread-safe: every call builds its own view and cursor.
/// </summary>
public sealed class TrainedModel
{
    private const int FormatVersion = 1;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        WriteIndented = true,
    };

    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly Manifest _manifest;
    private readonly ITransformer? _contributions;
    private readonly int[] _slotInputs;

    internal sealed record Manifest(int FormatVersion, FeatureState State, string Trainer, IReadOnlyDictionary<string, double> Hyperparameters,
        ModelSignature Signature, IReadOnlyDictionary<string, double> TestMetrics, DateTimeOffset CreatedAt);

    internal TrainedModel(MLContext ml, ITransformer model, Manifest manifest)
    {
        _ml = ml;
        _model = model;
        _manifest = manifest;
        var empty = new FeatureView(new FeatureTable(manifest.State.Inputs), manifest.State, [], withLabel: false);
        var featurized = model.GetOutputSchema(empty.Schema);
        _slotInputs = Featurizer.SlotInputs(manifest.State, featurized);
        if (manifest.State.Task != TrainingTask.Multiclass && model is TransformerChain<ITransformer> chain)
        {
            _contributions = ContributionCalculator(ml, chain.LastTransformer, _slotInputs.Length)?.Fit(model.Transform(empty));
        }
    }

    /// <summary>
    /// ML.NET's feature contributions for tree and linear models. Calibrated binary models (a score model wrapped with a
    /// Platt calibrator) need the generic overload, whose type arguments are only known at run time.
    /// </summary>
    private static IEstimator<ITransformer>? ContributionCalculator(MLContext ml, ITransformer predictor, int slots)
    {
        if (predictor is ISingleFeaturePredictionTransformer<ICalculateFeatureContribution> direct)
        {
            return ml.Transforms.CalculateFeatureContribution(direct, slots, slots, normalize: false);
        }
        for (var t = predictor.GetType().GetProperty("Model")?.GetValue(predictor)?.GetType(); t is not null; t = t.BaseType)
        {
            if (!t.IsGenericType || t.GetGenericTypeDefinition() != typeof(CalibratedModelParametersBase<,>)) continue;
            var args = t.GetGenericArguments();
            if (!typeof(ICalculateFeatureContribution).IsAssignableFrom(args[0])) return null;
            var method = typeof(ExplainabilityCatalog).GetMethods()
                .Single(m => m.Name == nameof(ExplainabilityCatalog.CalculateFeatureContribution) && m.IsGenericMethodDefinition);
            try
            {
                return (IEstimator<ITransformer>?)method.MakeGenericMethod(args).Invoke(null, [ml.Transforms, predictor, slots, slots, false]);
            }
            catch (ArgumentException)
            {
                return null; // the transformer is typed with a different model interface: no contributions
            }
        }
        return null;
    }

    public ModelSignature Signature => _manifest.Signature;
    public TrainingTask Task => _manifest.State.Task;
    public string Trainer => _manifest.Trainer;
    public IReadOnlyDictionary<string, double> Hyperparameters => _manifest.Hyperparameters;
    public IReadOnlyDictionary<string, double> TestMetrics => _manifest.TestMetrics;
    /// <summary>True when <see cref="Predict"/> can return per-column contributions.</summary>
    public bool SupportsContributions => _contributions is not null;

    public void Save(Stream output)
    {
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        using (var entry = zip.CreateEntry("manifest.json", CompressionLevel.Fastest).Open())
        {
            JsonSerializer.Serialize(entry, _manifest, Json);
        }
        var empty = new FeatureView(new FeatureTable(_manifest.State.Inputs), _manifest.State, [], withLabel: false);
        using var model = zip.CreateEntry("model.zip", CompressionLevel.NoCompression).Open();
        _ml.Model.Save(_model, empty.Schema, model);
    }

    /// <summary>Reads a model saved by <see cref="Save"/>; throws <see cref="InvalidDataException"/> for anything else.</summary>
    public static TrainedModel Load(Stream bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        try
        {
            using var zip = new ZipArchive(bundle, ZipArchiveMode.Read, leaveOpen: true);
            var manifestEntry = zip.GetEntry("manifest.json") ?? throw new InvalidDataException("The model file has no manifest.json.");
            var modelEntry = zip.GetEntry("model.zip") ?? throw new InvalidDataException("The model file has no model.zip.");
            Manifest manifest;
            using (var s = manifestEntry.Open())
            {
                manifest = JsonSerializer.Deserialize<Manifest>(s, Json) ?? throw new InvalidDataException("The model manifest is empty.");
            }
            if (manifest.FormatVersion != FormatVersion)
            {
                throw new InvalidDataException($"The model file has format version {manifest.FormatVersion}; this Gureum reads version {FormatVersion}.");
            }
            var buffer = new MemoryStream();
            using (var s = modelEntry.Open())
            {
                s.CopyTo(buffer);
            }
            buffer.Position = 0;
            var ml = new MLContext(seed: 0);
            var model = ml.Model.Load(buffer, out _);
            return new TrainedModel(ml, model, manifest);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"The model file cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Predicts each row (typed values by column name; missing columns are imputed as in training).</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var state = _manifest.State;
        var table = new FeatureTable(state.Inputs);
        foreach (var row in rows) table.Add(row, targetColumn: null);
        var view = new FeatureView(table, state, [.. Enumerable.Range(0, rows.Count)], withLabel: false);
        var scored = explain && _contributions is not null ? _contributions.Transform(_model.Transform(view)) : _model.Transform(view);
        var results = new List<Prediction>(rows.Count);
        var schema = scored.Schema;
        using var cursor = scored.GetRowCursor(schema);
        var score = state.Task == TrainingTask.Multiclass ? null : cursor.GetGetter<float>(schema["Score"]);
        var scores = state.Task == TrainingTask.Multiclass ? cursor.GetGetter<VBuffer<float>>(schema["Score"]) : null;
        var probability = schema.GetColumnOrNull("Probability") is { } p && state.Task == TrainingTask.Binary ? cursor.GetGetter<float>(p) : null;
        var binaryLabel = state.Task == TrainingTask.Binary ? cursor.GetGetter<bool>(schema["PredictedLabel"]) : null;
        var keyLabel = state.Task == TrainingTask.Multiclass ? cursor.GetGetter<uint>(schema["PredictedLabel"]) : null;
        var contributions = schema.GetColumnOrNull("FeatureContributions") is { } c ? cursor.GetGetter<VBuffer<float>>(c) : null;
        float s = 0, q = 0;
        bool b = false;
        uint k = 0;
        VBuffer<float> vector = default, contribution = default;
        while (cursor.MoveNext())
        {
            var prediction = new Prediction();
            switch (state.Task)
            {
                case TrainingTask.Binary:
                    score!(ref s);
                    binaryLabel!(ref b);
                    prediction = prediction with { Score = s, Label = state.Classes![b ? 1 : 0] };
                    if (probability is not null)
                    {
                        probability(ref q);
                        prediction = prediction with { Probability = q };
                    }
                    break;
                case TrainingTask.Multiclass:
                    scores!(ref vector);
                    keyLabel!(ref k);
                    var values = vector.DenseValues().ToArray();
                    prediction = prediction with
                    {
                        Label = k >= 1 && k <= state.Classes!.Count ? state.Classes[(int)k - 1] : null,
                        Probabilities = state.Classes!.Select((cls, i) => (cls, i)).ToDictionary(x => x.cls, x => x.i < values.Length ? (double)values[x.i] : 0),
                    };
                    break;
                default:
                    score!(ref s);
                    prediction = prediction with { Score = s };
                    break;
            }
            if (contributions is not null)
            {
                contributions(ref contribution);
                var sums = new double[state.Inputs.Count];
                var slot = 0;
                foreach (var value in contribution.DenseValues())
                {
                    if (slot < _slotInputs.Length) sums[_slotInputs[slot]] += value;
                    slot++;
                }
                prediction = prediction with { Contributions = state.Inputs.Select((input, i) => (input.Name, i)).ToDictionary(x => x.Name, x => sums[x.i]) };
            }
            results.Add(prediction);
        }
        return results;
    }

    /// <summary>
    /// Converts JSON records (objects of column → value) to typed rows for <see cref="Predict"/>. Numbers may be sent as
    /// numbers or strings; unknown columns other than the target are refused, so a misspelt name is not silently imputed.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, object?>> RowsFromJson(JsonElement records, int maxRows)
    {
        if (records.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException("records", "'records' must be an array of objects, one per row: [{\"column\": value, ...}].");
        }
        var count = records.GetArrayLength();
        if (count == 0) throw new ModelInputException("records", "'records' is empty; send at least one row.");
        if (count > maxRows) throw new ModelInputException("records", $"'records' has {count} rows; at most {maxRows} per request.");
        var inputs = _manifest.State.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var rows = new List<IReadOnlyDictionary<string, object?>>(count);
        var index = 0;
        foreach (var record in records.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object)
            {
                throw new ModelInputException($"records[{index}]", $"records[{index}] must be an object of column → value.");
            }
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var property in record.EnumerateObject())
            {
                if (!inputs.TryGetValue(property.Name, out var input))
                {
                    if (property.Name == _manifest.State.Target) continue;
                    throw new ModelInputException($"records[{index}].{property.Name}",
                        $"records[{index}] has column '{property.Name}', which the model does not take. Its columns: {string.Join(", ", inputs.Keys)}.");
                }
                row[property.Name] = Convert(property.Value, input, $"records[{index}].{property.Name}");
            }
            rows.Add(row);
            index++;
        }
        return rows;
    }

    private static object? Convert(JsonElement value, ModelInput input, string field)
    {
        string text;
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.True or JsonValueKind.False:
                if (input.Type is ColumnType.Boolean or ColumnType.Integer or ColumnType.Float) return value.GetBoolean();
                text = value.GetBoolean() ? "true" : "false";
                break;
            case JsonValueKind.Number:
                if (input.Type is ColumnType.Integer or ColumnType.Float or ColumnType.Boolean) return value.GetDouble();
                text = value.GetRawText();
                break;
            case JsonValueKind.String:
                text = value.GetString()!;
                break;
            default:
                throw new ModelInputException(field, $"'{field}' must be a number, string, boolean or null.");
        }
        var normalized = Values.NormalizeOrMissing(text, out _);
        if (normalized is null) return null;
        if (FeatureTable.IsString(input)) return normalized;
        return Values.Convert(normalized, input.Type, null)
            ?? throw new ModelInputException(field, $"'{field}' is \"{Truncate(text)}\", which is not {Expected(input.Type)}.");
    }

    private static string Expected(ColumnType type) => type switch
    {
        ColumnType.Boolean => "a boolean (true/false, yes/no, 1/0)",
        ColumnType.DateTime => "a date/time (ISO 8601, e.g. 2024-05-01T13:45:00Z)",
        _ => "a number",
    };

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
