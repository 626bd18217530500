using Gureum.ML.Data;

namespace Gureum.ML.Training;

/// <summary>What is predicted: one of two classes, one of several, or a number.</summary>
public enum TrainingTask
{
    Binary,
    Multiclass,
    Regression,
}

/// <summary>What a user asks of a training run. Null fields are chosen from the data.</summary>
public sealed record TrainingOptions
{
    public required string Target { get; init; }
    public TrainingTask? Task { get; init; }
    /// <summary>Binary: auc (default), accuracy, f1, logLoss. Multiclass: macroAccuracy (default), microAccuracy, logLoss. Regression: rmse (default), mae, r2.</summary>
    public string? Metric { get; init; }
    public int BudgetSeconds { get; init; } = 60;
    public int Seed { get; init; } = 1;
    public IReadOnlyList<string> IgnoreColumns { get; init; } = [];
    /// <summary>Manual mode: train only this trainer (with <see cref="Hyperparameters"/> on top of its defaults).</summary>
    public string? Trainer { get; init; }
    public IReadOnlyDictionary<string, double>? Hyperparameters { get; init; }
    /// <summary>Share of rows held out as the test split when no separate test data is given.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Stop the search after this many trials without improvement (0: chosen from the number of trainers).</summary>
    public int Patience { get; init; }
}

/// <summary>One evaluated configuration. The shape of a tracking run: parameters, metrics, timing, status.</summary>
public sealed record TrialResult(
    int Number,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    IReadOnlyDictionary<string, double> Metrics,
    double? Score,
    double DurationSeconds,
    string Status,
    string? Error,
    string Stage);

/// <summary>A raw input column the model reads, and how it is featurized.</summary>
public sealed record ModelInput(string Name, ColumnType Type, string Encoding);

/// <summary>What the model takes (raw columns, as in the dataset) and what it returns.</summary>
public sealed record ModelSignature(IReadOnlyList<ModelInput> Inputs, IReadOnlyList<ModelOutput> Outputs, IReadOnlyList<string>? Classes);

public sealed record ModelOutput(string Name, string Type, string Description);

public sealed record CurvePoint(double X, double Y, double Threshold);

public sealed record ConfusionMatrixReport(IReadOnlyList<string> Classes, IReadOnlyList<IReadOnlyList<long>> Counts, IReadOnlyList<ClassMetrics> PerClass);

public sealed record ClassMetrics(string Class, double Precision, double Recall, double F1, long Support);

public sealed record ResidualSummary(double Mean, double Std, double MeanAbsolute, IReadOnlyDictionary<string, double> Quantiles,
    IReadOnlyList<HistogramBin> Histogram, IReadOnlyList<CurvePoint> ActualVsPredicted);

/// <summary>How much the test metric drops when one raw column's values are shuffled (higher: more important).</summary>
public sealed record FeatureImportance(string Column, double Importance, double StdDev);

public sealed record EnsembleMember(int Trial, string Trainer, double Weight);

/// <summary>Everything a finished training run reports about its best model.</summary>
public sealed record TrainingReport
{
    public required TrainingTask Task { get; init; }
    public required string Metric { get; init; }
    public required bool HigherIsBetter { get; init; }
    public required string Validation { get; init; }
    public required TrialResult Best { get; init; }
    public required int Trials { get; init; }
    public required string StopReason { get; init; }
    public required long TrainRows { get; init; }
    public required long TestRows { get; init; }
    public required IReadOnlyDictionary<string, double> TestMetrics { get; init; }
    /// <summary>The validation score of the final model (the ensemble's, when there is one).</summary>
    public required double ValidationScore { get; init; }
    /// <summary>When the final model averages several trials: which, with what weight. Null for a single trial.</summary>
    public IReadOnlyList<EnsembleMember>? Ensemble { get; init; }
    public ConfusionMatrixReport? ConfusionMatrix { get; init; }
    public IReadOnlyList<CurvePoint>? Roc { get; init; }
    public IReadOnlyList<CurvePoint>? PrecisionRecall { get; init; }
    public ResidualSummary? Residuals { get; init; }
    public required IReadOnlyList<FeatureImportance> FeatureImportance { get; init; }
    public required ModelSignature Signature { get; init; }
    public required IReadOnlyList<string> DroppedColumns { get; init; }
    public required double DurationSeconds { get; init; }
}

/// <summary>A request the data cannot satisfy (bad target, too few rows, no features...); the message says what to change.</summary>
public sealed class TrainingInputException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
