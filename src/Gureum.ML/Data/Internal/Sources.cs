using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Serialization;

namespace Gureum.ML.Data.Internal;

/// <summary>Rows of raw text values, one format at a time. Columns may grow while reading (JSON Lines).</summary>
internal abstract class TableSource : IAsyncDisposable
{
    public List<string> Columns { get; } = [];
    /// <summary>The current row (aligned with <see cref="Columns"/>, possibly shorter), or null when <see cref="Error"/> is set.</summary>
    public virtual string?[]? Row { get; protected set; }
    public DataError? Error { get; protected set; }

    /// <summary>How many values the current row has (it may be shorter than <see cref="Columns"/>).</summary>
    public virtual int FieldCount => Row!.Length;

    /// <summary>Value <paramref name="index"/> of the current row without a string per value; false when it is null.</summary>
    public virtual bool TryGetField(int index, out ReadOnlySpan<char> value)
    {
        var s = Row![index];
        value = s;
        return s is not null;
    }
    /// <summary>The detected settings, to read the same way later.</summary>
    public abstract DetectedFormat Format { get; }

    public abstract ValueTask<bool> NextAsync(CancellationToken ct);
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal static DataFormatException Structural(long line, string? column, string message) =>
        new(message, [new DataError(line, column, message)]);
}

internal sealed class CsvSource : TableSource
{
    private readonly CsvParser _parser;
    private readonly StreamReader _reader;
    private readonly DetectedFormat _format;
    private readonly string _encoding;
    private bool _pendingFirst;
    private bool _valid;
    private string?[]? _row;

    private CsvSource(CsvParser parser, StreamReader reader, DetectedFormat format, string encoding)
    {
        _parser = parser;
        _reader = reader;
        _format = format;
        _encoding = encoding;
    }

    public override DetectedFormat Format => _format;

    /// <summary>Materialised on demand: the profile reads the fields as spans.</summary>
    public override string?[]? Row
    {
        get
        {
            if (!_valid) return null;
            if (_row is null)
            {
                _row = new string?[_parser.FieldCount];
                for (var i = 0; i < _row.Length; i++) _row[i] = _parser.Field(i).ToString();
            }
            return _row;
        }
    }

    public override int FieldCount => _parser.FieldCount;

    /// <summary>A batch is handed to the profile at about this many rows or chars (a few MB, bounded).</summary>
    private const int BatchRows = 4 * 1024;
    private const int BatchChars = 256 * 1024;

    /// <summary>Keeps the current (valid) row for the next batch.</summary>
    public void KeepRow() => _parser.KeepRecord();

    public bool BatchFull => _parser.KeptRows >= BatchRows || _parser.KeptChars >= BatchChars;

    /// <summary>
    /// Reads and keeps the rows that follow with nothing to report, with no call per row, until the batch is full or
    /// a row needs <see cref="NextAsync"/> (it runs past the read buffer, or is reported); returns how many.
    /// </summary>
    public int KeepRows()
    {
        if (_pendingFirst) return 0;
        _valid = false;
        _row = null;
        return _parser.KeepRecords(Columns.Count, BatchRows, BatchChars);
    }

    /// <summary>The kept rows; the parser reuses the buffers of <paramref name="recycled"/> (a batch no longer used).</summary>
    public RowBatch TakeBatch(RowBatch? recycled) => _parser.TakeBatch(Columns.Count, recycled);

    public override bool TryGetField(int index, out ReadOnlySpan<char> value)
    {
        value = _parser.Field(index);
        return true;
    }

    public static async Task<CsvSource> OpenAsync(OpenedInput input, bool gzip, char? delimiter, bool? hasHeader, string? encodingName, DataLimits limits, CancellationToken ct)
    {
        var prefix = input.Prefix;
        var (encName, bom) = CsvDetector.DetectEncoding(prefix.Span, encodingName);
        var fallback = new FlaggingDecoderFallback();
        var encoding = CsvDetector.CreateEncoding(encName, fallback);
        var sampleEncoding = CsvDetector.CreateEncoding(encName, new FlaggingDecoderFallback());
        var text = sampleEncoding.GetString(prefix.Span[bom..]);
        if (prefix.Length >= OpenedInput.PrefixSize)
        {
            var cut = text.LastIndexOf('\n');
            if (cut > 0) text = text[..cut];
        }
        if (string.IsNullOrWhiteSpace(text)) throw Structural(1, null, "The file is empty.");
        var delim = delimiter ?? CsvDetector.DetectDelimiter(text);
        var header = hasHeader ?? CsvDetector.DetectHeader(CsvDetector.SplitRecords(text, delim, 50));

        var skip = new byte[bom];
        await OpenedInput.FillAsync(input.Stream, skip, ct);
        var reader = new StreamReader(input.Stream, encoding, detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024, leaveOpen: true);
        var parser = new CsvParser(reader, delim, limits, encName == "utf-8" ? fallback : null);
        var source = new CsvSource(parser, reader, new DetectedFormat(DataFormat.Csv, gzip, delim, header, encName), encName);

        if (!await parser.ReadRecordAsync(ct)) throw Structural(1, null, "The file is empty.");
        if (header)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < parser.FieldCount; i++)
            {
                var name = parser.Field(i).Trim().ToString();
                if (name.Length == 0) name = $"column_{i + 1}";
                if (!seen.Add(name)) throw Structural(parser.RecordLine, name, $"Duplicate column name '{name}' in the header (line {parser.RecordLine}).");
                source.Columns.Add(name);
            }
        }
        else
        {
            for (var i = 0; i < parser.FieldCount; i++) source.Columns.Add($"column_{i + 1}");
            source.Check();
            source._pendingFirst = true;
        }
        return source;
    }

    public override ValueTask<bool> NextAsync(CancellationToken ct)
    {
        if (_pendingFirst)
        {
            _pendingFirst = false;
            return new ValueTask<bool>(true);
        }
        var read = _parser.ReadRecordAsync(ct);
        if (!read.IsCompletedSuccessfully) return CheckAsync(read);
        if (!read.Result) return new ValueTask<bool>(false);
        Check();
        return new ValueTask<bool>(true);
    }

    private async ValueTask<bool> CheckAsync(ValueTask<bool> read)
    {
        if (!await read) return false;
        Check();
        return true;
    }

    private void Check()
    {
        Error = null;
        _row = null;
        _valid = false;
        var fieldCount = _parser.FieldCount;
        if (_parser.UnterminatedField >= 0)
        {
            Error = new DataError(_parser.UnterminatedLine, ColumnName(_parser.UnterminatedField), $"Unterminated quoted field starting on line {_parser.UnterminatedLine}.");
            return;
        }
        if (_parser.InvalidField >= 0)
        {
            Error = new DataError(_parser.RecordLine, ColumnName(_parser.InvalidField), $"Invalid {_encoding} bytes on line {_parser.RecordLine}.");
            return;
        }
        if (Columns.Count > 0 && fieldCount != Columns.Count)
        {
            Error = new DataError(_parser.RecordLine, null, $"Line {_parser.RecordLine} has {fieldCount} fields; expected {Columns.Count}.");
            return;
        }
        _valid = true;
    }

    private string? ColumnName(int index) => index < Columns.Count ? Columns[index] : $"column_{index + 1}";

    public override ValueTask DisposeAsync()
    {
        _reader.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed class JsonlSource : TableSource
{
    private readonly StreamReader _reader;
    private readonly DataLimits _limits;
    private readonly FlaggingDecoderFallback _fallback;
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly char[] _buffer = new char[64 * 1024];
    private readonly StringBuilder _line = new();
    private int _pos;
    private int _len;
    private bool _eof;
    private long _lineNumber;
    private long _invalidAttributed;

    private JsonlSource(StreamReader reader, DataLimits limits, FlaggingDecoderFallback fallback, bool gzip)
    {
        _reader = reader;
        _limits = limits;
        _fallback = fallback;
        Format = new DetectedFormat(DataFormat.Jsonl, gzip, null, null, "utf-8");
    }

    public override DetectedFormat Format { get; }

    public static async Task<JsonlSource> OpenAsync(OpenedInput input, DataLimits limits, CancellationToken ct)
    {
        var (_, bom) = CsvDetector.DetectEncoding(input.Prefix.Span, "utf-8");
        var skip = new byte[bom];
        await OpenedInput.FillAsync(input.Stream, skip, ct);
        var fallback = new FlaggingDecoderFallback();
        var reader = new StreamReader(input.Stream, CsvDetector.CreateEncoding("utf-8", fallback), false, 64 * 1024, leaveOpen: true);
        return new JsonlSource(reader, limits, fallback, input.Gzip);
    }

    public override async ValueTask<bool> NextAsync(CancellationToken ct)
    {
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line is null) return false;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Row = null;
            Error = null;
            if (_fallback.Count > _invalidAttributed && line.Contains('\uFFFD'))
            {
                _invalidAttributed = _fallback.Count;
                Error = new DataError(_lineNumber, null, $"Invalid UTF-8 bytes on line {_lineNumber}.");
                return true;
            }
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    Error = new DataError(_lineNumber, null, $"Line {_lineNumber} is not a JSON object.");
                    return true;
                }
                var row = new string?[Columns.Count];
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (!_index.TryGetValue(p.Name, out var i))
                    {
                        if (Columns.Count >= _limits.MaxColumns)
                            throw Structural(_lineNumber, p.Name, $"More than MaxColumns ({_limits.MaxColumns}) keys (line {_lineNumber}).");
                        i = Columns.Count;
                        _index[p.Name] = i;
                        Columns.Add(p.Name);
                    }
                    if (i >= row.Length) Array.Resize(ref row, Columns.Count);
                    row[i] = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Null or JsonValueKind.Undefined => null,
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        _ => p.Value.GetRawText(),
                    };
                }
                Row = row;
            }
            catch (JsonException e)
            {
                Error = new DataError(_lineNumber, null, $"Invalid JSON on line {_lineNumber}: {e.Message}");
            }
            return true;
        }
    }

    private async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        _line.Clear();
        var any = false;
        while (true)
        {
            if (_pos == _len)
            {
                if (_eof) return any ? Finish() : null;
                _pos = 0;
                _len = await _reader.ReadAsync(_buffer.AsMemory(), ct);
                if (_len == 0)
                {
                    _eof = true;
                    return any ? Finish() : null;
                }
            }
            var c = _buffer[_pos++];
            any = true;
            if (c == '\n') return Finish();
            if (c != '\r') _line.Append(c);
            if (_line.Length > _limits.MaxLineBytes)
                throw Structural(_lineNumber + 1, null, $"Line {_lineNumber + 1} is longer than MaxLineBytes ({_limits.MaxLineBytes}).");
        }
    }

    private string Finish()
    {
        _lineNumber++;
        return _line.ToString();
    }

    public override ValueTask DisposeAsync()
    {
        _reader.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed class ParquetSource : TableSource
{
    /// <summary>A row group larger than this (uncompressed) is refused: it would be held in memory whole.</summary>
    internal const long MaxRowGroupBytes = 512L * 1024 * 1024;
    internal const int MaxRowGroups = 1_000_000;

    private readonly Stream _file;
    private readonly bool _ownsFile;
    private readonly ParquetReader _reader;
    private readonly DataLimits _limits;
    private int _group = -1;
    private IList<Dictionary<string, object>>? _rows;
    private int _rowIndex;
    private long _rowNumber;

    private ParquetSource(Stream file, bool ownsFile, ParquetReader reader, DataLimits limits, bool gzip)
    {
        _file = file;
        _ownsFile = ownsFile;
        _reader = reader;
        _limits = limits;
        Format = new DetectedFormat(DataFormat.Parquet, gzip, null, null, null);
    }

    public override DetectedFormat Format { get; }

    public static async Task<ParquetSource> OpenAsync(Stream content, long contentStart, OpenedInput input, DataLimits limits, CancellationToken ct)
    {
        Stream file;
        bool owns;
        if (!input.Gzip && content.CanSeek && contentStart == 0)
        {
            content.Position = contentStart;
            file = content;
            owns = false;
        }
        else
        {
            var path = Path.Combine(Path.GetTempPath(), $"gureum-{Guid.NewGuid():N}.parquet");
            file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            owns = true;
            try
            {
                var buffer = new byte[81920];
                long copied = 0;
                int n;
                while ((n = await input.Stream.ReadAsync(buffer, ct)) > 0)
                {
                    copied += n;
                    if (copied > limits.MaxDecompressedBytes)
                        throw Structural(0, null, $"The Parquet file is larger than MaxDecompressedBytes ({limits.MaxDecompressedBytes} bytes).");
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                }
                file.Position = 0;
            }
            catch
            {
                await file.DisposeAsync();
                throw;
            }
        }
        try
        {
            await CheckFooterAsync(file, ct);
            var reader = await ParquetReader.CreateAsync(file, null, leaveStreamOpen: true, ct);
            var source = new ParquetSource(file, owns, reader, limits, input.Gzip);
            var fields = reader.Schema.Fields;
            if (fields.Count > limits.MaxColumns) throw Structural(0, null, $"The Parquet file has more than MaxColumns ({limits.MaxColumns}) columns.");
            foreach (var f in fields)
            {
                if (f.SchemaType != Parquet.Schema.SchemaType.Data) throw Structural(0, f.Name, $"Nested Parquet column '{f.Name}' is not supported.");
                source.Columns.Add(f.Name);
            }
            if (reader.RowGroupCount > MaxRowGroups) throw Structural(0, null, $"The Parquet file has {reader.RowGroupCount} row groups.");
            long total = 0;
            foreach (var g in reader.RowGroups)
            {
                total += g.RowCount;
                if (g.RowCount < 0 || total > limits.MaxRows) throw Structural(0, null, $"The Parquet file has more than MaxRows ({limits.MaxRows}) rows.");
                if (g.RowGroup.TotalByteSize > MaxRowGroupBytes || g.RowGroup.TotalByteSize < 0)
                    throw Structural(0, null, $"A Parquet row group is {g.RowGroup.TotalByteSize} bytes (more than {MaxRowGroupBytes}).");
            }
            return source;
        }
        catch (Exception e) when (e is not DataFormatException and not OperationCanceledException)
        {
            if (owns) await file.DisposeAsync();
            throw Corrupt(e);
        }
    }

    /// <summary>The footer must fit in the file (and in a sane size) before Parquet.Net allocates a buffer for it.</summary>
    private static async Task CheckFooterAsync(Stream file, CancellationToken ct)
    {
        var start = file.Position;
        var length = file.Length - start;
        if (length < 12) throw Structural(0, null, "The Parquet file is truncated.");
        var tail = new byte[8];
        file.Position = start + length - 8;
        await OpenedInput.FillAsync(file, tail, ct);
        file.Position = start;
        if (!tail.AsSpan(4).SequenceEqual("PAR1"u8)) throw Structural(0, null, "The Parquet file is truncated (no closing PAR1 magic).");
        var footer = BitConverter.ToInt32(tail, 0);
        if (footer <= 0 || footer > length - 12 || footer > MaxFooterBytes)
            throw Structural(0, null, $"The Parquet footer length ({footer} bytes) is invalid or larger than {MaxFooterBytes} bytes.");
    }

    internal const int MaxFooterBytes = 64 * 1024 * 1024;

    internal static DataFormatException Corrupt(Exception e) =>
        new($"The Parquet file is corrupt or truncated: {e.Message}", [new DataError(0, null, "corrupt or truncated Parquet file")]);

    public override async ValueTask<bool> NextAsync(CancellationToken ct)
    {
        while (_rows is null || _rowIndex >= _rows.Count)
        {
            if (++_group >= _reader.RowGroupCount) return false;
            try
            {
                _file.Position = 0;
                var result = await ParquetSerializer.DeserializeUntypedAsync(_file, null, _group, ct);
                _rows = result.Data;
            }
            catch (Exception e) when (e is not DataFormatException and not OperationCanceledException)
            {
                throw Corrupt(e);
            }
            _rowIndex = 0;
        }
        var dict = _rows[_rowIndex++];
        _rowNumber++;
        var row = new string?[Columns.Count];
        for (var i = 0; i < row.Length; i++)
            row[i] = dict.TryGetValue(Columns[i], out var v) && v is not null ? Values.ToInvariantString(v) : null;
        Row = row;
        Error = null;
        return true;
    }

    public override async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync();
        if (_ownsFile) await _file.DisposeAsync();
    }
}
