using Gureum.ML.Data;

namespace Gureum.ML.Training;

public sealed record HyperparameterInfo(string Name, double Min, double Max, double Default, bool LogScale, bool Integer);

public sealed record TrainerInfo(string Name, IReadOnlyList<HyperparameterInfo> Hyperparameters);

/// <summary>
/// What will be trained, decided from the dataset's schema and profile before any row is read: the task, the metric,
/// and each raw column's featurization (or why it is dropped). Every problem is a <see cref="TrainingInputException"/>
/// naming the request field, so a server can answer 400 before a job is queued.
/// </summary>
public sealed record TrainingPlan(
    TrainingTask Task,
    string Metric,
    string Target,
    ColumnType TargetType,
    IReadOnlyList<ModelInput> Inputs,
    IReadOnlyList<string> Dropped)
{
    public const int MinimumRows = 10;
    public const int MaximumClasses = 200;
    /// <summary>Categoricals with at most this many distinct values are one-hot encoded; above it they are hashed.</summary>
    public const int OneHotLimit = 64;
    public const int MaximumBudgetSeconds = 24 * 3600;
    /// <summary>Training holds the rows in memory (about 8 bytes per number and cell), so a version above this is refused.</summary>
    public const long MaximumRows = 5_000_000;

    public static TrainingPlan Create(DatasetSchema schema, DatasetProfile profile, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BudgetSeconds is < 1 or > MaximumBudgetSeconds)
        {
            throw new TrainingInputException("budgetSeconds", $"'budgetSeconds' must be between 1 and {MaximumBudgetSeconds} (24 hours); it was {options.BudgetSeconds}.");
        }
        if (options.TestFraction is < 0.05 or > 0.5)
        {
            throw new TrainingInputException("testFraction", "'testFraction' must be between 0.05 and 0.5.");
        }
        var columns = schema.Columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var profiles = profile.Columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(options.Target))
        {
            throw new TrainingInputException("target", "'target' is required: the column to predict.");
        }
        if (!columns.TryGetValue(options.Target, out var target))
        {
            throw new TrainingInputException("target", $"The dataset has no column '{options.Target}'. Columns: {Names(schema.Columns.Select(c => c.Name))}.");
        }
        if (target.Ignored)
        {
            throw new TrainingInputException("target", $"Column '{target.Name}' is marked ignored in this version's schema; it cannot be the target.");
        }
        if (profile.RowCount > MaximumRows)
        {
            throw new TrainingInputException("version", $"The version has {profile.RowCount:N0} rows; training reads at most {MaximumRows:N0} into memory. Derive a sample as a new version and train on it.");
        }
        var targetProfile = profiles[target.Name];
        var labelled = profile.RowCount - targetProfile.Missing;
        if (labelled < MinimumRows)
        {
            throw new TrainingInputException("target",
                $"Only {labelled} row(s) have a value in '{target.Name}'; training needs at least {MinimumRows}. Upload more rows.");
        }
        if (targetProfile.Distinct <= 1)
        {
            throw new TrainingInputException("target", $"Column '{target.Name}' has a single value in every row; there is nothing to predict. Choose another target.");
        }
        var task = options.Task ?? InferTask(target, targetProfile);
        CheckTarget(task, target, targetProfile);
        var metric = Metrics.Resolve(task, options.Metric);

        foreach (var name in options.IgnoreColumns)
        {
            if (!columns.ContainsKey(name))
            {
                throw new TrainingInputException("ignoreColumns", $"'ignoreColumns' names '{name}', which is not a column of the dataset.");
            }
        }
        var ignored = options.IgnoreColumns.ToHashSet(StringComparer.Ordinal);
        var inputs = new List<ModelInput>();
        var dropped = new List<string>();
        foreach (var column in schema.Columns)
        {
            if (column.Name == target.Name) continue;
            var p = profiles[column.Name];
            string? reason = column.Ignored ? "ignored in the schema"
                : ignored.Contains(column.Name) ? "ignored by the request"
                : column.Type == ColumnType.Id ? "id-like (unique per row)"
                : p.Distinct <= 1 ? "constant"
                : null;
            if (reason is not null)
            {
                dropped.Add($"{column.Name}: {reason}");
                continue;
            }
            inputs.Add(new ModelInput(column.Name, column.Type, column.Type switch
            {
                ColumnType.Integer or ColumnType.Float or ColumnType.Boolean => "numeric",
                ColumnType.Categorical => p.Distinct <= OneHotLimit && !p.DistinctIsEstimate ? "one-hot" : "hashed",
                ColumnType.DateTime => "datetime",
                _ => "text",
            }));
        }
        if (inputs.Count == 0)
        {
            throw new TrainingInputException("ignoreColumns",
                $"No feature columns are left to learn from ({string.Join("; ", dropped)}). Un-ignore at least one column.");
        }
        if (options.Trainer is { } manual)
        {
            ManualHyperparameters(ManualTrainer(task, manual), task, options);
        }
        else if (options.Hyperparameters is { Count: > 0 })
        {
            throw new TrainingInputException("hyperparameters", "'hyperparameters' needs 'trainer' (manual mode); without a trainer the search chooses them.");
        }
        return new TrainingPlan(task, metric, target.Name, target.Type, inputs, dropped);
    }

    /// <summary>False for the metrics where lower is better (logLoss, rmse, mae).</summary>
    public static bool HigherIsBetter(string metric) => Metrics.HigherIsBetter(metric);

    /// <summary>The trainers the search uses for a task, with their hyperparameters' ranges and defaults.</summary>
    public static IReadOnlyList<TrainerInfo> TrainersFor(TrainingTask task) =>
        [.. Trainers.For(task).Select(t => new TrainerInfo(t.Name, [.. t.SpaceFor(task).Select(h => new HyperparameterInfo(h.Name, h.Min, h.Max, h.Default, h.Log, h.Integer))]))];

    internal static TrainerSpec ManualTrainer(TrainingTask task, string name) =>
        Trainers.Find(task, name) ?? throw new TrainingInputException("trainer",
            $"Unknown trainer '{name}' for {task.ToString().ToLowerInvariant()}; use one of {string.Join(", ", Trainers.For(task).Select(t => t.Name))}.");

    /// <summary>The trainer's defaults with the request's values on top, each checked against its range.</summary>
    internal static Dictionary<string, double> ManualHyperparameters(TrainerSpec spec, TrainingTask task, TrainingOptions options)
    {
        var space = spec.SpaceFor(task);
        var hp = spec.Defaults(task);
        foreach (var (name, value) in options.Hyperparameters ?? new Dictionary<string, double>())
        {
            var h = space.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new TrainingInputException($"hyperparameters.{name}", $"{spec.Name} has no hyperparameter '{name}'; it has {string.Join(", ", space.Select(x => x.Name))}.");
            if (double.IsNaN(value) || value < h.Min || value > h.Max)
            {
                throw new TrainingInputException($"hyperparameters.{name}", $"'{name}' must be between {h.Min} and {h.Max}; it was {value}.");
            }
            hp[h.Name] = h.Clamp(value);
        }
        return hp;
    }

    private static TrainingTask InferTask(ColumnSchema target, ColumnProfile p) => target.Type switch
    {
        ColumnType.Boolean => TrainingTask.Binary,
        _ when p.Distinct == 2 => TrainingTask.Binary,
        ColumnType.Categorical => TrainingTask.Multiclass,
        ColumnType.Integer when p.Distinct <= 10 => TrainingTask.Multiclass,
        ColumnType.Integer or ColumnType.Float => TrainingTask.Regression,
        _ => TrainingTask.Multiclass,
    };

    private static void CheckTarget(TrainingTask task, ColumnSchema target, ColumnProfile p)
    {
        if (target.Type is ColumnType.Id or ColumnType.DateTime)
        {
            throw new TrainingInputException("target", $"Column '{target.Name}' is {Describe(target.Type)}; it cannot be a target. Choose a label or a numeric column.");
        }
        if (target.Type == ColumnType.Text && p.Distinct * 2 > p.Count)
        {
            throw new TrainingInputException("target", $"Column '{target.Name}' is free text ({p.Distinct} distinct values in {p.Count} rows); it cannot be a class label. Choose a categorical or numeric column.");
        }
        switch (task)
        {
            case TrainingTask.Regression when target.Type is not (ColumnType.Integer or ColumnType.Float):
                throw new TrainingInputException("task", $"Regression needs a numeric target; '{target.Name}' is {Describe(target.Type)}. Use task 'binary' or 'multiclass'.");
            case TrainingTask.Binary when p.Distinct != 2:
                throw new TrainingInputException("task", $"Binary classification needs exactly 2 classes; '{target.Name}' has {p.Distinct}. Use task 'multiclass'{(target.Type is ColumnType.Integer or ColumnType.Float ? " or 'regression'" : "")}.");
            case TrainingTask.Multiclass when p.Distinct > MaximumClasses || p.DistinctIsEstimate:
                throw new TrainingInputException("target",
                    $"'{target.Name}' has {(p.DistinctIsEstimate ? "about " : "")}{p.Distinct} distinct values; classification supports at most {MaximumClasses} classes. " +
                    (target.Type is ColumnType.Integer or ColumnType.Float ? "Use task 'regression'." : "Choose a coarser target."));
        }
    }

    private static string Describe(ColumnType type) => type switch
    {
        ColumnType.Id => "id-like (unique per row)",
        ColumnType.DateTime => "a date/time",
        ColumnType.Text => "free text",
        _ => type.ToString().ToLowerInvariant(),
    };

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return string.Join(", ", list.Take(20).Select(n => $"'{n}'")) + (list.Count > 20 ? $" and {list.Count - 20} more" : "");
    }
}
