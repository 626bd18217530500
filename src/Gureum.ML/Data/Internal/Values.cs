using System.Globalization;

namespace Gureum.ML.Data.Internal;

/// <summary>How raw text values are normalised, recognised as missing and converted to typed values.</summary>
internal static class Values
{
    private static readonly HashSet<string> MissingTokens = new(StringComparer.OrdinalIgnoreCase)
    {
        "", "na", "n/a", "null", "nan", "none", "?", "-", "#N/A",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> MissingLookup =
        MissingTokens.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly Dictionary<string, bool> BooleanTokens = new(StringComparer.OrdinalIgnoreCase)
    {
        ["true"] = true, ["false"] = false, ["yes"] = true, ["no"] = false, ["t"] = true, ["f"] = false,
    };

    private static readonly Dictionary<string, bool>.AlternateLookup<ReadOnlySpan<char>> BooleanLookup =
        BooleanTokens.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Candidate date/time formats, most specific first; the first that fits the sample is recorded.</summary>
    internal static readonly string[] DateFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd HH:mm",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-ddTHH:mm:ss",
        "yyyy-MM-ddTHH:mm",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-ddTHH:mm:ssK",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
        "yyyy/MM/dd",
        "yyyy/MM/dd HH:mm:ss",
        "MM/dd/yyyy",
        "M/d/yyyy",
        "MM/dd/yyyy HH:mm:ss",
        "M/d/yyyy H:mm",
        "dd/MM/yyyy",
        "d/M/yyyy",
        "dd/MM/yyyy HH:mm:ss",
        "dd.MM.yyyy",
        "d.M.yyyy",
        "dd.MM.yyyy HH:mm:ss",
        "dd-MM-yyyy",
    ];

    private const DateTimeStyles DateStyles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;

    /// <summary>Trims the value and removes matching single quotes around it ('-1' → -1).</summary>
    internal static string Normalize(string raw, out bool singleQuoted)
    {
        var v = raw.Trim();
        singleQuoted = false;
        if (v.Length >= 2 && v[0] == '\'' && v[^1] == '\'')
        {
            singleQuoted = true;
            v = v[1..^1].Trim();
        }
        return v;
    }

    /// <summary>The span form of <see cref="Normalize(string, out bool)"/>: a slice, nothing allocated.</summary>
    internal static ReadOnlySpan<char> Normalize(ReadOnlySpan<char> raw, out bool singleQuoted)
    {
        var v = raw.Trim();
        singleQuoted = false;
        if (v.Length >= 2 && v[0] == '\'' && v[^1] == '\'')
        {
            singleQuoted = true;
            v = v[1..^1].Trim();
        }
        return v;
    }

    internal static string? NormalizeOrMissing(string? raw, out bool singleQuoted)
    {
        singleQuoted = false;
        if (raw is null) return null;
        var v = Normalize(raw, out singleQuoted);
        return IsMissing(v) ? null : v;
    }

    internal static bool IsMissing(string normalized) => IsMissing(normalized.AsSpan());

    internal static bool IsMissing(ReadOnlySpan<char> normalized) =>
        normalized.Length <= 4 && MissingLookup.Contains(normalized);

    internal static bool TryLong(string v, out long value) => TryLong(v.AsSpan(), out value);

    internal static bool TryLong(ReadOnlySpan<char> v, out long value) =>
        long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    internal static bool TryDouble(string v, out double value) => TryDouble(v.AsSpan(), out value);

    internal static bool TryDouble(ReadOnlySpan<char> v, out double value) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    internal static bool TryBoolean(string v, out bool value) => BooleanTokens.TryGetValue(v, out value);

    internal static bool TryBoolean(ReadOnlySpan<char> v, out bool value) => BooleanLookup.TryGetValue(v, out value);

    internal static bool TryDate(string v, string? format, out DateTimeOffset value) => TryDate(v.AsSpan(), format, out value);

    internal static bool TryDate(ReadOnlySpan<char> v, string? format, out DateTimeOffset value)
    {
        if (format is not null)
            return DateTimeOffset.TryParseExact(v, format, CultureInfo.InvariantCulture, DateStyles, out value);
        return DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateStyles, out value);
    }

    /// <summary><see cref="Convert"/> for <see cref="ColumnType.Boolean"/> without boxing.</summary>
    internal static bool TryConvertBoolean(ReadOnlySpan<char> v, out bool value)
    {
        if (TryBoolean(v, out value)) return true;
        if (v is "1") { value = true; return true; }
        if (v is "0") { value = false; return true; }
        return false;
    }

    /// <summary><see cref="Convert"/> for <see cref="ColumnType.DateTime"/> without boxing.</summary>
    internal static bool TryConvertDate(ReadOnlySpan<char> v, string? dateFormat, out DateTimeOffset value)
    {
        if (TryDate(v, dateFormat, out value) || (dateFormat is not null && TryDate(v, null, out value)))
        {
            value = value.ToUniversalTime();
            return true;
        }
        return false;
    }

    internal static bool LooksNumeric(string v) => TryDouble(v, out _);

    internal static string FormatDate(DateTimeOffset d) =>
        d.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>Converts a normalised, non-missing value to the CLR type for <paramref name="type"/>; null when it does not parse.</summary>
    internal static object? Convert(string v, ColumnType type, string? dateFormat)
    {
        switch (type)
        {
            case ColumnType.Integer:
                if (TryLong(v, out var l)) return l;
                if (TryDouble(v, out var d)) return d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? (long)d : d;
                return null;
            case ColumnType.Float:
                return TryDouble(v, out var f) ? f : null;
            case ColumnType.Boolean:
                if (TryBoolean(v, out var b)) return b;
                if (v == "1") return true;
                if (v == "0") return false;
                return null;
            case ColumnType.DateTime:
                if (TryDate(v, dateFormat, out var dt) || (dateFormat is not null && TryDate(v, null, out dt))) return dt.ToUniversalTime();
                return null;
            default:
                return v;
        }
    }

    internal static string ToInvariantString(object value) => value switch
    {
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        bool b => b ? "true" : "false",
        DateTime dt => FormatDate(new DateTimeOffset(dt.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dt, DateTimeKind.Utc) : dt)),
        DateTimeOffset dto => FormatDate(dto),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeSpan ts => ts.ToString("c", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        byte[] bytes => System.Convert.ToBase64String(bytes),
        IFormattable fmt => fmt.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
