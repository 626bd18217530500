namespace Gureum.ML.Data;

/// <summary>File formats a dataset version can be read from (any of them may be gzip-compressed).</summary>
public enum DataFormat
{
    Csv,
    Jsonl,
    Parquet,
}

/// <summary>The inferred (or overridden) type of a column.</summary>
public enum ColumnType
{
    Integer,
    Float,
    Boolean,
    Categorical,
    DateTime,
    Text,
    /// <summary>Unique per row (an identifier); not a feature.</summary>
    Id,
}

/// <summary>What to do with a row that cannot be read or does not fit the schema.</summary>
public enum OnError
{
    Reject,
    Skip,
}

/// <summary>Limits enforced while reading; each violation names the limit in its message.</summary>
public sealed record DataLimits
{
    public int MaxColumns { get; init; } = 2_000;
    public int MaxLineBytes { get; init; } = 1 << 20;
    public long MaxRows { get; init; } = 100_000_000;
    /// <summary>How many errors are collected before reading stops (reject) or are reported (skip).</summary>
    public int MaxReportedErrors { get; init; } = 20;
    /// <summary>Decompressed bytes may be at most this many times the compressed size (gzip bombs).</summary>
    public int MaxCompressionRatio { get; init; } = 100;
    public long MaxDecompressedBytes { get; init; } = 20L * 1024 * 1024 * 1024;
}

/// <summary>A user's override for one column: force a type, or ignore the column.</summary>
public sealed record ColumnOverride(ColumnType? Type = null, bool Ignored = false);

/// <summary>How to read a file. Null fields are detected.</summary>
public sealed record ReadOptions
{
    public DataFormat? Format { get; init; }
    /// <summary>CSV only: ',', ';', '\t', '|' are detected when null.</summary>
    public char? Delimiter { get; init; }
    /// <summary>CSV only: detected when null; without a header columns are named column_1, column_2, ...</summary>
    public bool? HasHeader { get; init; }
    /// <summary>CSV only: "utf-8", "utf-16", "latin1" (ISO-8859-1), "cp949"/"euc-kr"; detected (BOM, UTF-8 validity) when null.</summary>
    public string? Encoding { get; init; }
    public OnError OnError { get; init; } = OnError.Reject;
    public DataLimits Limits { get; init; } = new();
    /// <summary>Per column name; applied on top of inference.</summary>
    public IReadOnlyDictionary<string, ColumnOverride> Overrides { get; init; } = new Dictionary<string, ColumnOverride>();
    /// <summary>Optional target column: enables the leakage warning.</summary>
    public string? Target { get; init; }
}

/// <summary>One problem found in the input, located as precisely as possible (1-based line or row).</summary>
public sealed record DataError(long Line, string? Column, string Message);

/// <summary>Thrown when the input cannot be used (OnError=Reject, or a structural problem such as an empty file or a limit).</summary>
public sealed class DataFormatException(string message, IReadOnlyList<DataError> errors) : Exception(message)
{
    public IReadOnlyList<DataError> Errors { get; } = errors;
}

public sealed record ColumnSchema(string Name, ColumnType Type, bool Ignored = false, bool Overridden = false, string? DateTimeFormat = null);

public sealed record DatasetSchema(IReadOnlyList<ColumnSchema> Columns);

/// <summary>The format details that were detected, so a later read can use exactly the same settings.</summary>
public sealed record DetectedFormat(DataFormat Format, bool Gzip, char? Delimiter, bool? HasHeader, string? Encoding);

public sealed record HistogramBin(double Start, double End, long Count);

public sealed record ValueCount(string Value, long Count);

public sealed record ColumnProfile
{
    public required string Name { get; init; }
    public required ColumnType Type { get; init; }
    public long Count { get; init; }
    public long Missing { get; init; }
    /// <summary>
    /// Distinct present values: numbers, dates and booleans by value ("1.5" and "1.50" are one, so are "yes" and
    /// "true"; values that do not parse are counted as missing, not here), other types by their trimmed text.
    /// </summary>
    public long Distinct { get; init; }
    /// <summary>True when <see cref="Distinct"/> is an estimate (above the exact-count bound).</summary>
    public bool DistinctIsEstimate { get; init; }
    // Numerics
    public double? Min { get; init; }
    public double? Max { get; init; }
    public double? Mean { get; init; }
    public double? Std { get; init; }
    /// <summary>Keys "p01","p05","p25","p50","p75","p95","p99".</summary>
    public IReadOnlyDictionary<string, double>? Quantiles { get; init; }
    public IReadOnlyList<HistogramBin>? Histogram { get; init; }
    // Categoricals / booleans
    public IReadOnlyList<ValueCount>? TopValues { get; init; }
    // Text
    public double? MinLength { get; init; }
    public double? MaxLength { get; init; }
    public double? MeanLength { get; init; }
    // Dates (ISO 8601 strings)
    public string? MinDate { get; init; }
    public string? MaxDate { get; init; }
}

/// <summary>Codes: constant, high-missing, likely-id, mixed-types, target-leakage.</summary>
public sealed record ProfileWarning(string Code, string Column, string Message);

public sealed record DatasetProfile(long RowCount, IReadOnlyList<ColumnProfile> Columns, IReadOnlyList<ProfileWarning> Warnings);

/// <summary>The result of reading a file once: how it was read, its schema, its profile, and what was skipped.</summary>
public sealed record DatasetAnalysis(DetectedFormat Format, DatasetSchema Schema, DatasetProfile Profile, long SkippedRows, IReadOnlyList<DataError> Errors);
