using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Gureum.ML.Data.Internal;

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
    public static async Task<DatasetAnalysis> AnalyzeAsync(Stream content, ReadOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        var limits = options.Limits;
        var start = content.CanSeek ? content.Position : 0;
        await using var input = await OpenedInput.OpenAsync(content, limits, ct);
        var format = options.Format ?? DetectFormat(input.Prefix.Span);
        await using var source = await OpenSourceAsync(content, start, input, format, options.Delimiter, options.HasHeader, options.Encoding, limits, ct);
        var profiler = new Profiler(options);
        var errors = new List<DataError>();
        long skipped = 0;
        // CSV rows go to the profile in batches (profiled in the background while the next batch is read).
        var csv = source as CsvSource;
        RowBatch? spare = null;
        long rows = 0;
        while (true)
        {
            if (csv is not null)
            {
                // Most rows need no look of their own: kept in bulk, one call per buffer rather than per row.
                rows += csv.KeepRows();
                profiler.CheckRowLimit(rows);
                if (csv.BatchFull)
                {
                    spare = await profiler.AddBatchAsync(csv.TakeBatch(spare), csv.Columns);
                    continue;
                }
            }
            if (!await source.NextAsync(ct)) break;
            if (source.Error is { } error)
            {
                skipped++;
                if (errors.Count < limits.MaxReportedErrors) errors.Add(error);
                if (options.OnError == OnError.Reject && errors.Count >= limits.MaxReportedErrors) throw RowErrors(errors);
                continue;
            }
            if (csv is null)
            {
                profiler.AddRow(source);
                continue;
            }
            profiler.CheckRowLimit(++rows);
            csv.KeepRow(); // the batch is handed over at the top of the loop once full
        }
        if (csv is not null) await profiler.AddBatchAsync(csv.TakeBatch(spare), csv.Columns);
        if (options.OnError == OnError.Reject && errors.Count > 0) throw RowErrors(errors);
        if (profiler.RowCount == 0)
        {
            const string message = "The file has no data rows.";
            throw new DataFormatException(message, [.. errors, new DataError(0, null, message)]);
        }
        var (schema, profile) = await profiler.FinishAsync();
        return new DatasetAnalysis(source.Format, schema, profile, skipped, errors);
    }

    /// <summary>
    /// Analyses generated rows a few times (every column type, quoted fields, missing values), so the JIT has compiled
    /// and optimised the reader's hot loops before a real file comes: a long-running server calls this once at start.
    /// </summary>
    public static async Task WarmUpAsync(CancellationToken ct)
    {
        // From a file, as uploads are read: the file reads take their own paths through the runtime.
        var path = Path.Combine(Path.GetTempPath(), $"gureum-warm-up-{Guid.NewGuid():N}.csv");
        await File.WriteAllBytesAsync(path, WarmUpCsv(), ct);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920,
            FileOptions.Asynchronous | FileOptions.SequentialScan | FileOptions.DeleteOnClose);
        for (var i = 0; i < WarmUpPasses; i++)
        {
            file.Position = 0;
            await AnalyzeAsync(file, new ReadOptions(), ct);
            // The runtime promotes a method a step (quick → instrumented → optimised) only after a pause in new
            // compilations: a pass per step, each followed by one.
            await Task.Delay(WarmUpPause, ct);
        }
    }

    private const int WarmUpPasses = 5;
    private static readonly TimeSpan WarmUpPause = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The warm-up file: past the type-inference sample, so the batched column loops run too; one column of each
    /// type (id, float, integer, quoted categorical, text quoted or not, date-time, date, boolean) and missing values.
    /// </summary>
    internal static byte[] WarmUpCsv(int rows = 3 * Profiler.SampleRows)
    {
        string[] kinds = ["alpha", "beta", "gamma", "delta", "epsilon"];
        string[] words = ["order", "late", "quick", "refund", "item", "support", "price", "good"];
        var text = new StringBuilder("id,amount,count,kind,note,created,day,active,score\n");
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < rows; i++)
        {
            var note = i % 4 == 0
                ? $"\"{words[i % 8]}, {words[(i / 8) % 8]} \"\"{words[(i / 64) % 8]}\"\" number {i}\""
                : $"{words[i % 8]} {words[(i / 8) % 8]} {words[(i / 64) % 8]} number {i}";
            var score = i % 37 == 0 ? "" : (i % 1000 / 7.0).ToString("F3", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture,
                $"{i + 1},{i % 9973 / 100.0:F2},{i % 250},\"{kinds[i % 5]}\",{note},{start.AddMinutes(i * 7):yyyy-MM-ddTHH:mm:ss},{start.AddDays(i % 400):yyyy-MM-dd},{(i % 3 == 0 ? "true" : "false")},{score}\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// Rows as typed values by column name (long, double, bool, DateTimeOffset, string or null), read with the
    /// settings in <paramref name="format"/> and typed by <paramref name="schema"/>; ignored columns are left out.
    /// Rows that fail are skipped (they were reported when the version was analysed).
    /// </summary>
    public static IAsyncEnumerable<IReadOnlyDictionary<string, object?>> ReadRowsAsync(
        Stream content, DetectedFormat format, DatasetSchema schema, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(schema);
        return ReadRowsCore(content, format, schema, ct);
    }

    private static async IAsyncEnumerable<IReadOnlyDictionary<string, object?>> ReadRowsCore(
        Stream content, DetectedFormat format, DatasetSchema schema, [EnumeratorCancellation] CancellationToken ct)
    {
        var limits = new DataLimits();
        var start = content.CanSeek ? content.Position : 0;
        await using var input = await OpenedInput.OpenAsync(content, limits, ct);
        await using var source = await OpenSourceAsync(content, start, input, format.Format, format.Delimiter, format.HasHeader, format.Encoding, limits, ct);
        var byName = schema.Columns.Where(c => !c.Ignored).ToDictionary(c => c.Name, StringComparer.Ordinal);
        var map = new List<ColumnSchema?>();
        while (await source.NextAsync(ct))
        {
            if (source.Error is not null) continue;
            while (map.Count < source.Columns.Count)
                map.Add(byName.GetValueOrDefault(source.Columns[map.Count]));
            var row = source.Row!;
            var result = new Dictionary<string, object?>(byName.Count, StringComparer.Ordinal);
            foreach (var c in byName.Values) result[c.Name] = null;
            for (var i = 0; i < map.Count && i < row.Length; i++)
            {
                if (map[i] is not { } column) continue;
                var v = Values.NormalizeOrMissing(row[i], out _);
                result[column.Name] = v is null ? null : Values.Convert(v, column.Type, column.DateTimeFormat);
            }
            yield return result;
        }
    }

    private static DataFormat DetectFormat(ReadOnlySpan<byte> prefix)
    {
        if (prefix.StartsWith("PAR1"u8)) return DataFormat.Parquet;
        if (prefix.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) prefix = prefix[3..];
        foreach (var b in prefix)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            return b == (byte)'{' ? DataFormat.Jsonl : DataFormat.Csv;
        }
        return DataFormat.Csv;
    }

    private static async Task<TableSource> OpenSourceAsync(Stream content, long start, OpenedInput input, DataFormat format,
        char? delimiter, bool? hasHeader, string? encoding, DataLimits limits, CancellationToken ct)
    {
        if (input.Prefix.Length == 0) throw TableSource.Structural(1, null, "The file is empty.");
        return format switch
        {
            DataFormat.Parquet => await ParquetSource.OpenAsync(content, start, input, limits, ct),
            DataFormat.Jsonl => await JsonlSource.OpenAsync(input, limits, ct),
            _ => await CsvSource.OpenAsync(input, input.Gzip, delimiter, hasHeader, encoding, limits, ct),
        };
    }

    private static DataFormatException RowErrors(List<DataError> errors)
    {
        var first = errors[0];
        var where = first.Column is null ? $"line {first.Line}" : $"line {first.Line}, column '{first.Column}'";
        var more = errors.Count > 1 ? $" ({errors.Count} errors reported)" : "";
        return new DataFormatException($"Unreadable row at {where}: {first.Message}{more}", errors);
    }
}
