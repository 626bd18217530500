namespace Gureum.ML.Data;

/// <summary>
/// Reads tabular files (CSV/TSV, JSON Lines, Parquet; optionally gzip) as a stream, with bounded memory.
/// </summary>
public static class DatasetReader
{
    /// <summary>
    /// Reads the whole content once: detects the format, infers the schema (with overrides applied) and computes the profile.
    /// Throws <see cref="DataFormatException"/> for unusable input.
    /// </summary>
    public static Task<DatasetAnalysis> AnalyzeAsync(Stream content, ReadOptions options, CancellationToken ct) =>
        throw new NotImplementedException();

    /// <summary>
    /// Rows as typed values by column name (long, double, bool, DateTimeOffset, string or null), read with the
    /// settings in <paramref name="format"/> and typed by <paramref name="schema"/>; ignored columns are left out.
    /// Rows that fail are skipped (they were reported when the version was analysed).
    /// </summary>
    public static IAsyncEnumerable<IReadOnlyDictionary<string, object?>> ReadRowsAsync(
        Stream content, DetectedFormat format, DatasetSchema schema, CancellationToken ct) =>
        throw new NotImplementedException();
}
