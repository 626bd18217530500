using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// Runs of ordinary characters are found with a vectorized search and copied into one buffer; fields are slices of
/// it (no string per field). Records that the caller keeps (<see cref="KeepRecord"/>) stay in the buffer as a
/// <see cref="RowBatch"/> until <see cref="TakeBatch"/>, so the profile can work on many rows at once.
/// </summary>
internal sealed class CsvParser
{
    private enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }
    /// <summary>What <see cref="KeepRecords"/> left for <see cref="ReadRecordAsync"/>: nothing, a record to finish, or one read whole.</summary>
    private enum LeftRecord { None, InProgress, Complete }

    private const int BufferChars = 256 * 1024;
    private static readonly SearchValues<char> QuotedStops = SearchValues.Create("\"\n\r");
    private static readonly Vector128<ushort> LineFeeds = Vector128.Create((ushort)'\n');
    private static readonly Vector128<ushort> CarriageReturns = Vector128.Create((ushort)'\r');
    private static readonly Vector128<ushort> Quotes = Vector128.Create((ushort)'"');
    private static readonly Vector128<ushort> Spaces = Vector128.Create((ushort)' ');
    private static readonly Vector256<byte> ByteLineFeeds = Vector256.Create((byte)'\n');
    private static readonly Vector256<byte> ByteCarriageReturns = Vector256.Create((byte)'\r');
    private static readonly Vector256<byte> ByteQuotes = Vector256.Create((byte)'"');
    private static readonly Vector256<byte> ByteSpaces = Vector256.Create((byte)' ');

    private readonly TextReader _reader;
    private readonly char _delimiter;
    private readonly DataLimits _limits;
    private readonly FlaggingDecoderFallback? _fallback;
    private readonly SearchValues<char> _unquotedStops;
    private readonly Vector128<ushort> _delimiters;
    private readonly Vector256<byte> _byteDelimiters;
    /// <summary>Whether the delimiter survives narrowing chars to bytes (U+0001 to U+00FE), as the AVX2 scan needs.</summary>
    private readonly bool _byteDelimiter;
    /// <summary>Whether <see cref="ScanPlainLine"/> applies (not with a delimiter that is also a line end or a quote).</summary>
    private readonly bool _plainLines;
    private readonly char[] _buffer = new char[BufferChars];
    private int _pos;
    private int _len;
    private bool _eof;
    private bool _skipLf;
    /// <summary>Set when <see cref="ScanPlainLine"/> found no line end in the rest of the buffer.</summary>
    private bool _noLineEnd;
    private long _line = 1;
    private long _invalidAttributed;

    // The kept records and the one being read: field contents in _record, each followed by one separator char
    // (as in the line: a whole plain line is copied at once), field i ending at _ends[i].
    // The current record starts at char _recordStart and field _firstField; a record that is not kept is dropped
    // when the next one is read.
    private char[] _record = new char[4096];
    private int _recordLength;
    private int[] _ends = new int[64];
    private int _fieldTotal;
    private int _recordStart;
    private int _firstField;
    private bool _kept;
    private int _keptRows;
    private int _fieldCount;
    private State _state;
    private bool _started;
    private long _recordChars;
    private LeftRecord _left;

    public CsvParser(TextReader reader, char delimiter, DataLimits limits, FlaggingDecoderFallback? fallback)
    {
        _reader = reader;
        _delimiter = delimiter;
        _limits = limits;
        _fallback = fallback;
        _unquotedStops = SearchValues.Create([delimiter, '\n', '\r']);
        _delimiters = Vector128.Create((ushort)delimiter);
        _byteDelimiter = delimiter is > '\0' and < '\u00FF';
        _byteDelimiters = Vector256.Create((byte)delimiter);
        _plainLines = delimiter is not ('"' or '\n' or '\r');
    }

    public int FieldCount => _fieldCount;

    /// <summary>Field <paramref name="index"/> of the current record (valid until the next read).</summary>
    public ReadOnlySpan<char> Field(int index)
    {
        var start = index == 0 ? _recordStart : _ends[_firstField + index - 1] + 1;
        return _record.AsSpan(start, _ends[_firstField + index] - start);
    }

    /// <summary>Keeps the current record in the batch (every kept record must have the same number of fields).</summary>
    public void KeepRecord()
    {
        _kept = true;
        _keptRows++;
    }

    public int KeptRows => _keptRows;
    /// <summary>The chars of the kept records (not of the current one unless kept).</summary>
    public int KeptChars => _kept ? _recordLength : _recordStart;

    /// <summary>
    /// Hands the kept records over as a batch (the current record, if not kept, is dropped); the parser goes on with
    /// the buffers of <paramref name="recycled"/>, a batch it handed out earlier and that is no longer used.
    /// </summary>
    public RowBatch TakeBatch(int columns, RowBatch? recycled)
    {
        Debug.Assert(_left == LeftRecord.None, "A record left for ReadRecordAsync would be lost.");
        if (!_kept)
        {
            _recordLength = _recordStart;
            _fieldTotal = _firstField;
        }
        var batch = new RowBatch(_record, _ends, _keptRows, columns);
        (_record, _ends) = recycled is null ? (new char[_record.Length], new int[_ends.Length]) : (recycled.Data, recycled.Ends);
        _recordLength = _recordStart = _fieldTotal = _firstField = _keptRows = 0;
        _kept = false;
        return batch;
    }

    /// <summary>1-based line on which the current record starts.</summary>
    public long RecordLine { get; private set; }
    /// <summary>Index of the first field holding undecodable bytes in the current record, or -1.</summary>
    public int InvalidField { get; private set; } = -1;
    /// <summary>Set when the current record ended in an unterminated quote (at end of input).</summary>
    public int UnterminatedField { get; private set; } = -1;
    public long UnterminatedLine { get; private set; }

    public ValueTask<bool> ReadRecordAsync(CancellationToken ct)
    {
        var left = _left;
        _left = LeftRecord.None;
        if (left == LeftRecord.Complete) return new ValueTask<bool>(true);
        if (left == LeftRecord.InProgress) return ReadRestAsync(ct);
        StartRecord();
        // Most records end inside the buffer: no async state machine for them.
        return Scan() ? new ValueTask<bool>(true) : ReadRestAsync(ct);
    }

    /// <summary>
    /// Reads on, with no call per record, while records end inside the buffer with <paramref name="columns"/> fields
    /// and nothing to report, and keeps them, until <see cref="KeptRows"/> reaches <paramref name="maxRows"/> or
    /// <see cref="KeptChars"/> <paramref name="maxChars"/>. Returns how many it kept. A record it does not keep (one
    /// that runs past the buffer, or has something to report) is the one the next <see cref="ReadRecordAsync"/> returns.
    /// </summary>
    public int KeepRecords(int columns, int maxRows, int maxChars)
    {
        var kept = 0;
        while (_keptRows < maxRows && KeptChars < maxChars)
        {
            StartRecord();
            if (!Scan())
            {
                _left = LeftRecord.InProgress;
                break;
            }
            if (_fieldCount != columns || InvalidField >= 0)
            {
                _left = LeftRecord.Complete;
                break;
            }
            KeepRecord();
            kept++;
        }
        return kept;
    }

    /// <summary>Drops the current record unless it was kept, and starts the next.</summary>
    private void StartRecord()
    {
        if (!_kept)
        {
            _recordLength = _recordStart;
            _fieldTotal = _firstField;
        }
        _kept = false;
        _recordStart = _recordLength;
        _firstField = _fieldTotal;
        _fieldCount = 0;
        InvalidField = -1;
        UnterminatedField = -1;
        _state = State.FieldStart;
        _recordChars = 0;
        _started = false;
    }

    private async ValueTask<bool> ReadRestAsync(CancellationToken ct)
    {
        while (true)
        {
            if (_eof || !await FillAsync(ct))
            {
                if (!_started) return false;
                if (_state == State.Quoted) UnterminatedField = _fieldCount;
                EndField();
                return true;
            }
            if (Scan()) return true;
        }
    }

    /// <summary>Consumes the buffered text; true when a record ended, false when the buffer ran out first.</summary>
    private bool Scan()
    {
        var buffer = _buffer;
        while (_pos < _len)
        {
            var c = buffer[_pos];
            if (_skipLf)
            {
                _skipLf = false;
                if (c == '\n') { _pos++; continue; }
            }
            if (!_started)
            {
                if (c is '\n' or '\r')
                {
                    _pos++;
                    NewLine(c);
                    continue;
                }
                _started = true;
                RecordLine = _line;
                if (ScanPlainLine()) return true;
                continue; // it may have taken the fields before a quote
            }
            switch (_state)
            {
                case State.FieldStart:
                    if (c == _delimiter) { Count(1); _pos++; EndField(); }
                    else if (c is '\n' or '\r') { Count(1); _pos++; NewLine(c); EndField(); return true; }
                    else if (c == '"') { Count(1); _pos++; _state = State.Quoted; UnterminatedLine = _line; }
                    else if (c == ' ' && _delimiter != ' ') { Count(1); _pos++; }
                    else
                    {
                        // The rest of the line at once, as at its start (after a quoted field, say).
                        var before = _pos;
                        if (ScanPlainLine()) return true;
                        if (_pos != before) break; // it took the fields before a quote
                        _state = State.Unquoted;
                        goto case State.Unquoted;
                    }
                    break;
                case State.Unquoted:
                    // Field after field while each starts with a plain character (the common case).
                    while (true)
                    {
                        var rest = buffer.AsSpan(_pos, _len - _pos);
                        var i = rest.IndexOfAny(_unquotedStops);
                        if (i < 0)
                        {
                            Count(rest.Length);
                            Append(rest);
                            _pos = _len;
                            return false;
                        }
                        Count(i + 1);
                        Append(rest[..i]);
                        c = rest[i];
                        _pos += i + 1;
                        if (c != _delimiter)
                        {
                            NewLine(c);
                            EndField();
                            return true;
                        }
                        EndField();
                        if (_pos < _len && buffer[_pos] is not ('"' or ' ' or '\n' or '\r') && buffer[_pos] != _delimiter) continue;
                        _state = State.FieldStart;
                        break;
                    }
                    break;
                case State.Quoted:
                {
                    var rest = buffer.AsSpan(_pos, _len - _pos);
                    var i = rest.IndexOfAny(QuotedStops);
                    if (i < 0)
                    {
                        Count(rest.Length, quoted: true);
                        Append(rest);
                        _pos = _len;
                        return false;
                    }
                    Count(i + 1, quoted: true);
                    Append(rest[..i]);
                    c = rest[i];
                    _pos += i + 1;
                    if (c == '"') _state = State.QuoteInQuoted;
                    else
                    {
                        NewLine(c);
                        Append('\n');
                    }
                    break;
                }
                case State.QuoteInQuoted:
                    Count(1);
                    _pos++;
                    if (c == '"') { Append('"'); _state = State.Quoted; }
                    else if (c == _delimiter) { EndField(); _state = State.FieldStart; }
                    else if (c is '\n' or '\r') { NewLine(c); EndField(); return true; }
                    else if (c is ' ' or '\t') { }
                    else { Append(c); _state = State.Unquoted; }
                    break;
            }
        }
        return false;
    }

    /// <summary>
    /// The common record, read at once from its start or from a field start: the rest of one line in the buffer with
    /// no quote, no field starting with a space and nothing left to report. One vectorized pass finds its end and its
    /// delimiters; the line is copied whole. Anything else (or a limit passed) is left to the state machine, which
    /// reads on from where this started.
    /// </summary>
    private bool ScanPlainLine()
    {
        if (!_plainLines || _noLineEnd || (_fallback is not null && _fallback.Count > _invalidAttributed)) return false;
        var rest = _buffer.AsSpan(_pos, _len - _pos);
        var skipSpace = _delimiter != ' ';
        if (skipSpace && rest[0] == ' ') return false;
        var fieldTotal = _fieldTotal;
        var end = -1;
        var afterDelimiter = 0u; // 1 when the previous block ended with a delimiter
        ref var chars = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(rest));
        var i = 0;
        if (Avx2.IsSupported && _byteDelimiter)
        {
            // 32 chars per step, narrowed to 32 bytes first so that each char class is one comparison. The narrowing
            // saturates: a char past U+00FF becomes 0xFF or 0, never a char looked for.
            const int Wide = 2 * 16;
            for (; i + Wide <= rest.Length && end < 0; i += Wide)
            {
                var lo = Vector256.LoadUnsafe(ref chars, (nuint)i).AsInt16();
                var hi = Vector256.LoadUnsafe(ref chars, (nuint)(i + 16)).AsInt16();
                // The pack interleaves the 128-bit lanes of its inputs; the permutation puts the bytes back in order.
                var bytes = Avx2.Permute4x64(Avx2.PackUnsignedSaturate(lo, hi).AsUInt64(), 0b11_01_10_00).AsByte();
                var stops = (Vector256.Equals(bytes, ByteLineFeeds) | Vector256.Equals(bytes, ByteCarriageReturns)
                    | Vector256.Equals(bytes, ByteQuotes)).ExtractMostSignificantBits();
                var delimiters = Vector256.Equals(bytes, _byteDelimiters).ExtractMostSignificantBits();
                var spaces = skipSpace ? Vector256.Equals(bytes, ByteSpaces).ExtractMostSignificantBits() : 0;
                if (!TakeStep(i, Wide, stops, delimiters, spaces, ref fieldTotal, ref end, ref afterDelimiter)) return false;
            }
        }
        // 16 chars per step, as two halves whose 8-bit masks are joined.
        const int Step = 2 * 8;
        for (; i + Step <= rest.Length && end < 0; i += Step)
        {
            var lo = Vector128.LoadUnsafe(ref chars, (nuint)i);
            var hi = Vector128.LoadUnsafe(ref chars, (nuint)(i + 8));
            var stops = Mask(Vector128.Equals(lo, LineFeeds) | Vector128.Equals(lo, CarriageReturns) | Vector128.Equals(lo, Quotes),
                Vector128.Equals(hi, LineFeeds) | Vector128.Equals(hi, CarriageReturns) | Vector128.Equals(hi, Quotes));
            var delimiters = Mask(Vector128.Equals(lo, _delimiters), Vector128.Equals(hi, _delimiters));
            var spaces = skipSpace ? Mask(Vector128.Equals(lo, Spaces), Vector128.Equals(hi, Spaces)) : 0;
            if (!TakeStep(i, Step, stops, delimiters, spaces, ref fieldTotal, ref end, ref afterDelimiter)) return false;
        }
        for (; end < 0 && i < rest.Length; i++)
        {
            var c = rest[i];
            if (c is '\n' or '\r' or '"') end = i;
            else if (c == _delimiter)
            {
                if (skipSpace && i + 1 < rest.Length && rest[i + 1] == ' ') return false;
                if (fieldTotal == _ends.Length) Array.Resize(ref _ends, _ends.Length * 2);
                _ends[fieldTotal++] = _recordLength + i;
            }
            else if (afterDelimiter != 0 && c == ' ') return false;
            afterDelimiter = 0;
        }
        if (end < 0)
        {
            // No line end in the buffer: not worth another look until it is refilled.
            _noLineEnd = true;
            return false;
        }
        if (_recordChars + end + 1 > _limits.MaxLineBytes || _fieldCount + fieldTotal - _fieldTotal >= _limits.MaxColumns) return false;
        if (rest[end] == '"')
        {
            // A quoted field: the plain fields before it are kept, the state machine goes on from its quote.
            if (end > 0 && rest[end - 1] != _delimiter) return false;
            Take(rest[..end], fieldTotal);
            return false;
        }
        if (fieldTotal == _ends.Length) Array.Resize(ref _ends, _ends.Length * 2);
        _ends[fieldTotal++] = _recordLength + end;
        Take(rest[..(end + 1)], fieldTotal);
        NewLine(rest[end]);
        return true;
    }

    /// <summary>
    /// One step of <see cref="ScanPlainLine"/> from its masks (bit j for char <paramref name="i"/> + j): the end of
    /// the line if a stop is in it, and the delimiters before that end; false when a field starts with a space.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TakeStep(int i, int width, uint stops, uint delimiters, uint spaces, ref int fieldTotal, ref int end, ref uint afterDelimiter)
    {
        if (stops != 0)
        {
            var k = BitOperations.TrailingZeroCount(stops);
            end = i + k;
            var before = (1u << k) - 1;
            delimiters &= before;
            spaces &= before | (1u << k);
        }
        if ((((delimiters << 1) | afterDelimiter) & spaces) != 0) return false;
        afterDelimiter = (delimiters >> (width - 1)) & 1;
        while (delimiters != 0)
        {
            if (fieldTotal == _ends.Length) Array.Resize(ref _ends, _ends.Length * 2);
            _ends[fieldTotal++] = _recordLength + i + BitOperations.TrailingZeroCount(delimiters);
            delimiters &= delimiters - 1;
        }
        return true;
    }

    /// <summary>One bit per char of two 8-char comparison results, the first in the low bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mask(Vector128<ushort> lo, Vector128<ushort> hi) =>
        Vector128.Narrow(lo, hi).ExtractMostSignificantBits();

    /// <summary>Consumes <paramref name="chars"/>, whose fields end where <c>_ends[.. fieldTotal]</c> say.</summary>
    private void Take(ReadOnlySpan<char> chars, int fieldTotal)
    {
        if (_recordLength + chars.Length > _record.Length) Grow(chars.Length);
        chars.CopyTo(_record.AsSpan(_recordLength));
        _recordLength += chars.Length;
        _fieldCount += fieldTotal - _fieldTotal;
        _fieldTotal = fieldTotal;
        _recordChars += chars.Length;
        _pos += chars.Length;
    }

    /// <summary>Counts characters of the current record against MaxLineBytes (before they are buffered).</summary>
    private void Count(int n, bool quoted = false)
    {
        _recordChars += n;
        if (_recordChars <= _limits.MaxLineBytes) return;
        var message = quoted
            ? $"The quoted field starting on line {UnterminatedLine} runs past MaxLineBytes ({_limits.MaxLineBytes}): an unterminated quote?"
            : $"Line {RecordLine} is longer than MaxLineBytes ({_limits.MaxLineBytes}).";
        throw new DataFormatException(message, [new DataError(quoted ? UnterminatedLine : RecordLine, null, message)]);
    }

    private void Append(ReadOnlySpan<char> chars)
    {
        if (_recordLength + chars.Length > _record.Length) Grow(chars.Length);
        chars.CopyTo(_record.AsSpan(_recordLength));
        _recordLength += chars.Length;
    }

    private void Append(char c)
    {
        if (_recordLength == _record.Length) Grow(1);
        _record[_recordLength++] = c;
    }

    private void Grow(int more) => Array.Resize(ref _record, Math.Max(_record.Length * 2, _recordLength + more));

    private void NewLine(char c)
    {
        _line++;
        if (c == '\r') _skipLf = true;
    }

    private void EndField()
    {
        var start = _fieldCount == 0 ? _recordStart : _ends[_fieldTotal - 1] + 1;
        if (InvalidField < 0 && _fallback is not null && _fallback.Count > _invalidAttributed
            && _record.AsSpan(start, _recordLength - start).Contains('\uFFFD'))
        {
            _invalidAttributed++;
            InvalidField = _fieldCount;
        }
        if (_fieldTotal == _ends.Length) Array.Resize(ref _ends, _ends.Length * 2);
        _ends[_fieldTotal++] = _recordLength;
        _fieldCount++;
        Append(_delimiter);
        if (_fieldCount > _limits.MaxColumns)
        {
            var message = $"Line {RecordLine} has more than MaxColumns ({_limits.MaxColumns}) fields.";
            throw new DataFormatException(message, [new DataError(RecordLine, null, message)]);
        }
    }

    private async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        _pos = 0;
        _noLineEnd = false;
        _len = await _reader.ReadAsync(_buffer.AsMemory(), ct);
        if (_len == 0) _eof = true;
        return _len > 0;
    }
}

/// <summary>
/// Rows of one CSV file, each with exactly <see cref="Columns"/> fields: field c of row r is
/// <c>Data[Ends[r * Columns + c - 1] + 1 .. Ends[r * Columns + c]]</c> (one separator char between fields; the
/// first starts at 0).
/// </summary>
internal sealed class RowBatch(char[] data, int[] ends, int rows, int columns)
{
    public char[] Data { get; } = data;
    public int[] Ends { get; } = ends;
    public int Rows { get; } = rows;
    public int Columns { get; } = columns;

    public ReadOnlySpan<char> Field(int row, int column)
    {
        var i = row * Columns + column;
        var start = i == 0 ? 0 : Ends[i - 1] + 1;
        return Data.AsSpan(start, Ends[i] - start);
    }
}
