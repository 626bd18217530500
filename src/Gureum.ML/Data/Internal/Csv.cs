using System.Text;

namespace Gureum.ML.Data.Internal;

/// <summary>Counts invalid bytes while decoding and puts U+FFFD in their place, so a row can report them.</summary>
internal sealed class FlaggingDecoderFallback : DecoderFallback
{
    public long Count;
    public override int MaxCharCount => 1;
    public override DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(this);

    private sealed class Buffer(FlaggingDecoderFallback owner) : DecoderFallbackBuffer
    {
        private int _remaining;
        public override int Remaining => _remaining;

        public override bool Fallback(byte[] bytesUnknown, int index)
        {
            owner.Count++;
            _remaining = 1;
            return true;
        }

        public override char GetNextChar()
        {
            if (_remaining == 0) return '\0';
            _remaining--;
            return '\uFFFD';
        }

        public override bool MovePrevious()
        {
            if (_remaining != 0) return false;
            _remaining = 1;
            return true;
        }

        public override void Reset() => _remaining = 0;
    }
}

/// <summary>Encoding and dialect detection from the first bytes of a CSV file.</summary>
internal static class CsvDetector
{
    internal static readonly char[] Delimiters = [',', ';', '\t', '|'];

    /// <summary>Returns the encoding name and how many BOM bytes to skip.</summary>
    internal static (string Name, int BomLength) DetectEncoding(ReadOnlySpan<byte> prefix, string? declared)
    {
        var bom = prefix.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? ("utf-8", 3)
            : prefix.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) ? ("utf-16", 2)
            : prefix.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) ? ("utf-16be", 2)
            : ((string?)null, 0);
        if (declared is not null) return (NormalizeName(declared), bom.Item1 is not null && NormalizeName(declared) == bom.Item1 ? bom.Item2 : 0);
        if (bom.Item1 is not null) return (bom.Item1, bom.Item2);
        return (IsValidUtf8Prefix(prefix) ? "utf-8" : "latin1", 0);
    }

    private static string NormalizeName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "utf8" or "utf-8" => "utf-8",
        "utf16" or "utf-16" or "utf-16le" or "unicode" => "utf-16",
        "utf-16be" => "utf-16be",
        "latin1" or "latin-1" or "iso-8859-1" => "latin1",
        "cp949" or "ks_c_5601-1987" => "cp949",
        "euc-kr" => "euc-kr",
        var other => other,
    };

    /// <summary>Valid UTF-8, allowing a sequence cut off at the end of the prefix.</summary>
    private static bool IsValidUtf8Prefix(ReadOnlySpan<byte> bytes)
    {
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out var read, out _, replaceInvalidSequences: false, isFinalBlock: false);
        return status != System.Buffers.OperationStatus.InvalidData && bytes.Length - read < 4;
    }

    internal static Encoding CreateEncoding(string name, FlaggingDecoderFallback fallback)
    {
        Encoding baseEncoding = name switch
        {
            "utf-8" => new UTF8Encoding(false),
            "utf-16" => new UnicodeEncoding(false, false),
            "utf-16be" => new UnicodeEncoding(true, false),
            "latin1" => Encoding.Latin1,
            _ => GetCodePage(name),
        };
        var clone = (Encoding)baseEncoding.Clone();
        clone.DecoderFallback = fallback;
        return clone;
    }

    private static Encoding GetCodePage(string name)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        try
        {
            return name switch
            {
                "cp949" => Encoding.GetEncoding(949),
                "euc-kr" => Encoding.GetEncoding(51949),
                _ => Encoding.GetEncoding(name),
            };
        }
        catch (ArgumentException)
        {
            throw new DataFormatException($"Unknown encoding '{name}'.", [new DataError(0, null, $"unknown encoding '{name}'")]);
        }
    }

    /// <summary>Splits text into records (quote-aware), at most <paramref name="max"/> complete records.</summary>
    internal static List<List<string>> SplitRecords(string text, char delimiter, int max)
    {
        var records = new List<List<string>>();
        var fields = new List<string>();
        var sb = new StringBuilder();
        var inQuotes = false;
        var quoted = false;
        for (var i = 0; i < text.Length && records.Count < max; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { sb.Append('"'); i++; }
                    else inQuotes = false;
                }
                else sb.Append(c);
                continue;
            }
            if (c == '"' && sb.ToString().Trim().Length == 0 && !quoted) { inQuotes = true; quoted = true; sb.Clear(); }
            else if (c == delimiter) { fields.Add(quoted ? sb.ToString() : sb.ToString().Trim()); sb.Clear(); quoted = false; }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                if (fields.Count > 0 || sb.Length > 0 || quoted)
                {
                    fields.Add(quoted ? sb.ToString() : sb.ToString().Trim());
                    records.Add(fields);
                    fields = [];
                }
                sb.Clear();
                quoted = false;
            }
            else sb.Append(c);
        }
        return records;
    }

    internal static char DetectDelimiter(string text)
    {
        var best = ',';
        var bestScore = (0.0, 0);
        foreach (var d in Delimiters)
        {
            var counts = SplitRecords(text, d, 50).Select(r => r.Count).ToList();
            if (counts.Count == 0) continue;
            var mode = counts.GroupBy(c => c).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First();
            if (mode.Key <= 1) continue;
            var score = ((double)mode.Count() / counts.Count, mode.Key);
            if (score.Item1 > bestScore.Item1 + 1e-9 || (Math.Abs(score.Item1 - bestScore.Item1) < 1e-9 && score.Key > bestScore.Item2))
            {
                best = d;
                bestScore = score;
            }
        }
        return best;
    }

    internal static bool DetectHeader(List<List<string>> records)
    {
        if (records.Count == 0) return false;
        var first = records[0];
        foreach (var raw in first)
        {
            var v = Values.Normalize(raw, out _);
            if (v.Length > 0 && (Values.IsMissing(v) || Values.LooksNumeric(v) || Values.TryDate(v, null, out _))) return false;
        }
        var rest = records.Skip(1).ToList();
        if (rest.Count == 0) return first.All(f => f.Trim().Length > 0);
        for (var j = 0; j < first.Count; j++)
        {
            var values = rest.Where(r => j < r.Count).Select(r => Values.NormalizeOrMissing(r[j], out _)).OfType<string>().ToList();
            if (values.Count == 0) continue;
            var typed = values.Count(v => Values.LooksNumeric(v) || Values.TryDate(v, null, out _));
            if (typed >= 0.8 * values.Count) return true;
        }
        var names = first.Select(f => Values.Normalize(f, out _)).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) return false;
        for (var j = 0; j < names.Count; j++)
            if (rest.Any(r => j < r.Count && Values.Normalize(r[j], out _) == names[j])) return false;
        return true;
    }
}

/// <summary>
/// A streaming RFC 4180 parser over decoded text: quoted fields with delimiters, doubled quotes and newlines,
/// leading spaces after a delimiter skipped, blank lines skipped. Memory is bounded by <c>MaxLineBytes</c>.
/// </summary>
internal sealed class CsvParser(TextReader reader, char delimiter, DataLimits limits, FlaggingDecoderFallback? fallback)
{
    private enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }

    private readonly char[] _buffer = new char[64 * 1024];
    private int _pos;
    private int _len;
    private bool _eof;
    private bool _skipLf;
    private long _line = 1;
    private long _invalidAttributed;
    private readonly StringBuilder _field = new();

    public List<string> Fields { get; } = [];
    /// <summary>1-based line on which the current record starts.</summary>
    public long RecordLine { get; private set; }
    /// <summary>Index of the first field holding undecodable bytes in the current record, or -1.</summary>
    public int InvalidField { get; private set; } = -1;
    /// <summary>Set when the current record ended in an unterminated quote (at end of input).</summary>
    public int UnterminatedField { get; private set; } = -1;
    public long UnterminatedLine { get; private set; }

    public async ValueTask<bool> ReadRecordAsync(CancellationToken ct)
    {
        Fields.Clear();
        _field.Clear();
        InvalidField = -1;
        UnterminatedField = -1;
        var state = State.FieldStart;
        var recordChars = 0L;
        var started = false;
        var fieldInvalid = false;
        while (true)
        {
            if (_pos == _len)
            {
                if (_eof || !await FillAsync(ct))
                {
                    if (!started) return false;
                    if (state == State.Quoted)
                    {
                        UnterminatedField = Fields.Count;
                    }
                    EndField(ref fieldInvalid);
                    return true;
                }
            }
            var c = _buffer[_pos++];
            if (_skipLf)
            {
                _skipLf = false;
                if (c == '\n') continue;
            }
            if (!started)
            {
                if (c is '\n' or '\r')
                {
                    NewLine(c);
                    continue;
                }
                started = true;
                RecordLine = _line;
            }
            if (++recordChars > limits.MaxLineBytes)
            {
                var message = state == State.Quoted
                    ? $"The quoted field starting on line {UnterminatedLine} runs past MaxLineBytes ({limits.MaxLineBytes}): an unterminated quote?"
                    : $"Line {RecordLine} is longer than MaxLineBytes ({limits.MaxLineBytes}).";
                throw new DataFormatException(message, [new DataError(state == State.Quoted ? UnterminatedLine : RecordLine, null, message)]);
            }
            if (c == '\uFFFD') fieldInvalid = true;
            switch (state)
            {
                case State.FieldStart:
                    if (c == delimiter) EndField(ref fieldInvalid);
                    else if (c is '\n' or '\r') { NewLine(c); EndField(ref fieldInvalid); return true; }
                    else if (c == '"') { state = State.Quoted; UnterminatedLine = _line; }
                    else if (c == ' ' && delimiter != ' ') { }
                    else { _field.Append(c); state = State.Unquoted; }
                    break;
                case State.Unquoted:
                    if (c == delimiter) { EndField(ref fieldInvalid); state = State.FieldStart; }
                    else if (c is '\n' or '\r') { NewLine(c); EndField(ref fieldInvalid); return true; }
                    else _field.Append(c);
                    break;
                case State.Quoted:
                    if (c == '"') state = State.QuoteInQuoted;
                    else
                    {
                        if (c is '\n' or '\r') NewLine(c);
                        _field.Append(c == '\r' ? '\n' : c);
                    }
                    break;
                case State.QuoteInQuoted:
                    if (c == '"') { _field.Append('"'); state = State.Quoted; }
                    else if (c == delimiter) { EndField(ref fieldInvalid); state = State.FieldStart; }
                    else if (c is '\n' or '\r') { NewLine(c); EndField(ref fieldInvalid); return true; }
                    else if (c is ' ' or '\t') { }
                    else { _field.Append(c); state = State.Unquoted; }
                    break;
            }
        }
    }

    private void NewLine(char c)
    {
        _line++;
        if (c == '\r') _skipLf = true;
    }

    private void EndField(ref bool fieldInvalid)
    {
        if (fieldInvalid && InvalidField < 0 && fallback is not null && fallback.Count > _invalidAttributed)
        {
            _invalidAttributed++;
            InvalidField = Fields.Count;
        }
        fieldInvalid = false;
        Fields.Add(_field.ToString());
        _field.Clear();
        if (Fields.Count > limits.MaxColumns)
        {
            var message = $"Line {RecordLine} has more than MaxColumns ({limits.MaxColumns}) fields.";
            throw new DataFormatException(message, [new DataError(RecordLine, null, message)]);
        }
    }

    private async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        _pos = 0;
        _len = await reader.ReadAsync(_buffer.AsMemory(), ct);
        if (_len == 0) _eof = true;
        return _len > 0;
    }
}
