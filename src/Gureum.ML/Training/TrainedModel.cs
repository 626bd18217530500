using System.Collections.Concurrent;
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
    /// <summary>Regression: the predicted number.</summary>
    public double? Score { get; init; }
    /// <summary>Binary: the probability of the positive class (the label is the positive class from 0.5).</summary>
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
/// A trained model as one file: a zip with <c>manifest.json</c> (signature, featurization state, members, metrics) and
/// one ML.NET pipeline per member (<c>model-0.zip</c>, ...: featurization and trainer). A model is one trial's
/// pipeline or an ensemble averaging several. Prediction takes raw rows, as in the dataset. Thread-safe: every call
/// builds its own view and cursors.
/// </summary>
public sealed class TrainedModel
{
    private const int FormatVersion = 1;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        WriteIndented = true,
    };

    private readonly FeatureState _state;
    private readonly IReadOnlyList<Member> _members;
    private readonly ModelSignature _signature;
    private IReadOnlyDictionary<string, double> _testMetrics;
    private readonly ITransformer? _contributions;
    private readonly int[] _slotInputs;

    /// <summary>One fitted pipeline and its share of the averaged answer.</summary>
    internal sealed record Member(string Trainer, int Trial, IReadOnlyDictionary<string, double> Hyperparameters, double Weight, MLContext Ml, ITransformer Model);

    internal sealed record MemberInfo(string Trainer, int Trial, IReadOnlyDictionary<string, double> Hyperparameters, double Weight, string Entry);

    internal sealed record Manifest(int FormatVersion, FeatureState State, IReadOnlyList<MemberInfo> Members, ModelSignature Signature,
        IReadOnlyDictionary<string, double> TestMetrics, DateTimeOffset CreatedAt);

    internal TrainedModel(FeatureState state, IReadOnlyList<Member> members, ModelSignature signature, IReadOnlyDictionary<string, double>? testMetrics = null)
    {
        _state = state;
        _members = [.. members.OrderByDescending(m => m.Weight)];
        _signature = signature;
        _testMetrics = testMetrics ?? new Dictionary<string, double>();
        var lead = _members[0];
        var empty = EmptyView(state);
        _predictionSchema = empty.Schema;
        _rowMappable = _members.All(m => m.Model.IsRowToRowMapper);
        _slotInputs = Featurizer.SlotInputs(state, lead.Model.GetOutputSchema(empty.Schema));
        // Contributions come from the member with the largest weight: members' scores are on different scales.
        if (state.Task != TrainingTask.Multiclass
            && Flatten(lead.Model).LastOrDefault(t => t is ISingleFeaturePredictionTransformer<object> p && p.FeatureColumnName == Featurizer.Features) is { } predictor)
        {
            _contributions = ContributionCalculator(lead.Ml, predictor, _slotInputs.Length)?.Fit(lead.Model.Transform(empty));
        }
    }

    /// <summary>The transformers of a pipeline in order, nested chains opened.</summary>
    private static IEnumerable<ITransformer> Flatten(ITransformer model) => model is IEnumerable<ITransformer> chain
        ? chain.SelectMany(Flatten)
        : [model];

    private static FeatureView EmptyView(FeatureState state) => new(new FeatureTable(state.Inputs), state, [], withLabel: false);

    /// <summary>Set once by training, after the test evaluation (which needs the model) and before the model is saved or shared.</summary>
    internal void RecordTestMetrics(IReadOnlyDictionary<string, double> metrics) => _testMetrics = metrics;

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

    public ModelSignature Signature => _signature;
    public TrainingTask Task => _state.Task;
    internal FeatureState State => _state;
    /// <summary>The trainer, or <c>ensemble(a×w, b×w)</c> for an ensemble.</summary>
    public string Trainer => _members.Count == 1 ? _members[0].Trainer
        : "ensemble(" + string.Join(", ", _members.Select(m => $"{m.Trainer} {m.Weight:0.##}")) + ")";
    /// <summary>The hyperparameters of the (leading) member.</summary>
    public IReadOnlyDictionary<string, double> Hyperparameters => _members[0].Hyperparameters;
    public IReadOnlyDictionary<string, double> TestMetrics => _testMetrics;
    /// <summary>True when <see cref="Predict"/> can return per-column contributions.</summary>
    public bool SupportsContributions => _contributions is not null;

    public void Save(Stream output)
    {
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        var infos = _members.Select((m, i) => new MemberInfo(m.Trainer, m.Trial, m.Hyperparameters, m.Weight, $"model-{i}.zip")).ToList();
        using (var entry = zip.CreateEntry("manifest.json", CompressionLevel.Fastest).Open())
        {
            JsonSerializer.Serialize(entry, new Manifest(FormatVersion, _state, infos, _signature, _testMetrics, DateTimeOffset.UtcNow), Json);
        }
        var schema = EmptyView(_state).Schema;
        for (var i = 0; i < _members.Count; i++)
        {
            using var model = zip.CreateEntry(infos[i].Entry, CompressionLevel.NoCompression).Open();
            _members[i].Ml.Model.Save(_members[i].Model, schema, model);
        }
    }

    /// <summary>Reads a model saved by <see cref="Save"/>; throws <see cref="InvalidDataException"/> for anything else.</summary>
    public static TrainedModel Load(Stream bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        try
        {
            using var zip = new ZipArchive(bundle, ZipArchiveMode.Read, leaveOpen: true);
            var manifestEntry = zip.GetEntry("manifest.json") ?? throw new InvalidDataException("The model file has no manifest.json.");
            Manifest manifest;
            using (var s = manifestEntry.Open())
            {
                manifest = JsonSerializer.Deserialize<Manifest>(s, Json) ?? throw new InvalidDataException("The model manifest is empty.");
            }
            if (manifest.FormatVersion != FormatVersion)
            {
                throw new InvalidDataException($"The model file has format version {manifest.FormatVersion}; this Gureum reads version {FormatVersion}.");
            }
            var members = new List<Member>();
            foreach (var info in manifest.Members)
            {
                var entry = zip.GetEntry(info.Entry) ?? throw new InvalidDataException($"The model file has no {info.Entry}.");
                var buffer = new MemoryStream();
                using (var s = entry.Open())
                {
                    s.CopyTo(buffer);
                }
                buffer.Position = 0;
                var ml = new MLContext(seed: 0);
                members.Add(new Member(info.Trainer, info.Trial, info.Hyperparameters, info.Weight, ml, ml.Model.Load(buffer, out _)));
            }
            if (members.Count == 0) throw new InvalidDataException("The model file lists no model.");
            return new TrainedModel(manifest.State, members, manifest.Signature, manifest.TestMetrics);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"The model file cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The weighted average of the members' answers (see <see cref="Metrics.Extract"/>) for a view's rows.</summary>
    internal float[] Answers(FeatureView view)
    {
        float[]? sum = null;
        foreach (var m in _members)
        {
            var answers = Metrics.Extract(m.Model.Transform(view), _state);
            sum ??= new float[answers.Length];
            for (var i = 0; i < answers.Length; i++) sum[i] += (float)(m.Weight * answers[i]);
        }
        return sum!;
    }

    /// <summary>
    /// The members' pipelines bound once to the prediction schema, as ML.NET's PredictionEngine does. Transform binds a
    /// pipeline to its input anew on every call, which cost milliseconds per request whatever its rows. A set of
    /// mappers is used by one call at a time (taken from the bag, given back after); a busy server keeps one per worker.
    /// </summary>
    private readonly ConcurrentBag<IRowToRowMapper[]> _mappers = [];
    /// <summary>The schema of every prediction view (that of the empty view built at load): mappers are bound to it.</summary>
    private readonly DataViewSchema _predictionSchema;
    /// <summary>Whether every member's pipeline can be bound as a row mapper (else Transform per call).</summary>
    private readonly bool _rowMappable;

    /// <summary>Predicts each row (typed values by column name; missing columns are imputed as in training).</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var state = _state;
        var table = new FeatureTable(state.Inputs);
        foreach (var row in rows) table.Add(row, targetColumn: null);
        var view = new FeatureView(table, state, [.. Enumerable.Range(0, rows.Count)], withLabel: false, schema: _predictionSchema);
        var answers = _rowMappable ? MappedAnswers(view) : Answers(view);
        var contributions = explain && _contributions is not null ? Contributions(view) : null;
        var results = new List<Prediction>(rows.Count);
        var k = state.Classes?.Count ?? 1;
        for (var i = 0; i < rows.Count; i++)
        {
            var prediction = state.Task switch
            {
                TrainingTask.Binary => new Prediction { Probability = answers[i], Label = state.Classes![answers[i] >= 0.5f ? 1 : 0] },
                TrainingTask.Multiclass => Multiclass(answers.AsSpan(i * k, k), state.Classes!),
                _ => new Prediction { Score = answers[i] },
            };
            results.Add(contributions is null ? prediction : prediction with { Contributions = contributions[i] });
        }
        return results;
    }

    /// <summary>What <see cref="Answers"/> computes, through the bound mappers.</summary>
    private float[] MappedAnswers(FeatureView view)
    {
        if (!_mappers.TryTake(out var mappers)) mappers = [.. _members.Select(m => m.Model.GetRowToRowMapper(_predictionSchema))];
        try
        {
            float[]? sum = null;
            for (var i = 0; i < _members.Count; i++)
            {
                var column = Metrics.AnswerColumn(mappers[i].OutputSchema, _state);
                using var cursor = view.GetRowCursor(view.Schema);
                using var row = mappers[i].GetRow(cursor, [column]);
                var answers = Metrics.Extract(row, cursor.MoveNext, column, _state);
                sum ??= new float[answers.Length];
                for (var j = 0; j < answers.Length; j++) sum[j] += (float)(_members[i].Weight * answers[j]);
            }
            return sum!;
        }
        finally
        {
            _mappers.Add(mappers);
        }
    }

    private static Prediction Multiclass(ReadOnlySpan<float> probabilities, IReadOnlyList<string> classes)
    {
        var best = 0;
        for (var c = 1; c < probabilities.Length; c++)
        {
            if (probabilities[c] > probabilities[best]) best = c;
        }
        var map = new Dictionary<string, double>();
        for (var c = 0; c < classes.Count; c++) map[classes[c]] = probabilities[c];
        return new Prediction { Label = classes[best], Probabilities = map };
    }

    /// <summary>The leading member's feature contributions, summed per raw input column.</summary>
    private List<Dictionary<string, double>> Contributions(FeatureView view)
    {
        var scored = _contributions!.Transform(_members[0].Model.Transform(view));
        var column = scored.Schema["FeatureContributions"];
        var result = new List<Dictionary<string, double>>();
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> contribution = default;
        while (cursor.MoveNext())
        {
            getter(ref contribution);
            var sums = new double[_state.Inputs.Count];
            var slot = 0;
            foreach (var value in contribution.DenseValues())
            {
                if (slot < _slotInputs.Length) sums[_slotInputs[slot]] += value;
                slot++;
            }
            result.Add(_state.Inputs.Select((input, i) => (input.Name, i)).ToDictionary(x => x.Name, x => sums[x.i]));
        }
        return result;
    }

    /// <summary>
    /// Converts JSON records (objects of column → value) to typed rows for <see cref="Predict"/>. Numbers may be sent as
    /// numbers or strings; unknown columns other than the target are refused, so a misspelt name is not silently imputed.
    /// </summary>
    /// <remarks>With <paramref name="requireEveryColumn"/> (serving), a row must name every column, null for a missing value,
    /// so a client that forgot a field hears about it instead of getting an imputed answer.</remarks>
    public IReadOnlyList<IReadOnlyDictionary<string, object?>> RowsFromJson(JsonElement records, int maxRows, bool requireEveryColumn = false)
    {
        if (records.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException("records", "'records' must be an array of objects, one per row: [{\"column\": value, ...}].");
        }
        var count = records.GetArrayLength();
        if (count == 0) throw new ModelInputException("records", "'records' is empty; send at least one row.");
        if (count > maxRows) throw new ModelInputException("records", $"'records' has {count} rows; at most {maxRows} per request.");
        var inputs = _state.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
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
                    if (property.Name == _state.Target) continue;
                    throw new ModelInputException($"records[{index}].{property.Name}",
                        $"records[{index}] has column '{property.Name}', which the model does not take. Its columns: {string.Join(", ", inputs.Keys)}.");
                }
                row[property.Name] = Convert(property.Value, input, $"records[{index}].{property.Name}");
            }
            if (requireEveryColumn && row.Count < inputs.Count)
            {
                var missing = _state.Inputs.First(i => !row.ContainsKey(i.Name));
                throw new ModelInputException($"records[{index}].{missing.Name}",
                    $"records[{index}] lacks column '{missing.Name}' ({JsonNamingPolicy.CamelCase.ConvertName(missing.Type.ToString())}); send null for a missing value.");
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
