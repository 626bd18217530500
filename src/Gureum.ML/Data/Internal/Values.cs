using System.Globalization;
using System.Runtime.CompilerServices;

namespace Gureum.ML.Data.Internal;

/// <summary>How raw text values are normalised, recognised as missing and converted to typed values.</summary>
internal static class Values
{
    private static readonly Dictionary<string, bool> BooleanTokens = new(StringComparer.OrdinalIgnoreCase)
    {
        ["true"] = true, ["false"] = false, ["yes"] = true, ["no"] = false, ["t"] = true, ["f"] = false,
    };

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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ReadOnlySpan<char> Normalize(ReadOnlySpan<char> raw, out bool singleQuoted)
    {
        // Most values start and end with a printable ASCII character other than a single quote: nothing to trim.
        if (raw.Length > 0 && (uint)(raw[0] - '!') < 0x5E && (uint)(raw[^1] - '!') < 0x5E && raw[0] != '\'')
        {
            singleQuoted = false;
            return raw;
        }
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

    /// <summary>
    /// Missing-value tokens, case-insensitive: "", "na", "n/a", "null", "nan", "none", "?", "-", "#N/A"
    /// (compared by hand: this runs for every value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsMissing(ReadOnlySpan<char> normalized) => normalized.Length switch
    {
        0 => true,
        // Every token of two or more characters starts with n, N or #: most values are decided by their first one.
        > 1 when normalized[0] is not ('n' or 'N' or '#') => false,
        1 => normalized[0] is '?' or '-',
        2 => normalized.Equals("na", StringComparison.OrdinalIgnoreCase),
        3 => normalized.Equals("n/a", StringComparison.OrdinalIgnoreCase) || normalized.Equals("nan", StringComparison.OrdinalIgnoreCase),
        4 => normalized.Equals("null", StringComparison.OrdinalIgnoreCase) || normalized.Equals("none", StringComparison.OrdinalIgnoreCase)
            || normalized.Equals("#N/A", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    internal static bool TryLong(string v, out long value) => TryLong(v.AsSpan(), out value);

    internal static bool TryLong(ReadOnlySpan<char> v, out long value) =>
        long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>What <see cref="TryLong(ReadOnlySpan{char}, out long)"/> accepts: a sign, then digits that fit a long.</summary>
    internal static bool IsInteger(ReadOnlySpan<char> v)
    {
        var digits = v.Length > 0 && v[0] is '-' or '+' ? v[1..] : v;
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9')) return false;
        return digits.Length <= 18 || TryLong(v, out _);
    }

    internal static bool TryDouble(string v, out double value) => TryDouble(v.AsSpan(), out value);

    internal static bool TryDouble(ReadOnlySpan<char> v, out double value) =>
        TryPlainDecimal(v, out value)
        || (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value));

    /// <summary>
    /// The common case of <see cref="TryDouble(ReadOnlySpan{char}, out double)"/>: [+-]digits[.digits] with at most 15
    /// digits. The digits are exact in a double and so is 10^k (k &lt;= 15), so one division rounds exactly as
    /// double.Parse does (Clinger's fast path). Anything else is left to double.TryParse.
    /// </summary>
    private static bool TryPlainDecimal(ReadOnlySpan<char> v, out double value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (v.Length > 0 && v[0] is '-' or '+')
        {
            negative = v[0] == '-';
            i = 1;
        }
        long mantissa = 0;
        int digits = 0, intDigits = 0, scale = 0;
        var point = false;
        for (; i < v.Length; i++)
        {
            var c = v[i];
            if ((uint)(c - '0') <= 9)
            {
                if (++digits > 15) return false;
                mantissa = mantissa * 10 + (c - '0');
                if (point) scale++;
                else intDigits++;
            }
            else if (c == '.' && !point) point = true;
            else return false;
        }
        if (intDigits == 0 || (point && scale == 0)) return false;
        double d = mantissa;
        if (scale > 0) d /= Pow10[scale];
        value = negative ? -d : d;
        return true;
    }

    private static readonly double[] Pow10 =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    internal static bool TryBoolean(string v, out bool value) => BooleanTokens.TryGetValue(v, out value);

    /// <summary><see cref="BooleanTokens"/> compared by hand (the same OrdinalIgnoreCase comparisons, no hashing).</summary>
    internal static bool TryBoolean(ReadOnlySpan<char> v, out bool value)
    {
        value = false;
        switch (v.Length)
        {
            case 1:
                if (v.Equals("t", StringComparison.OrdinalIgnoreCase)) return value = true;
                return v.Equals("f", StringComparison.OrdinalIgnoreCase);
            case 2:
                return v.Equals("no", StringComparison.OrdinalIgnoreCase);
            case 3:
                return value = v.Equals("yes", StringComparison.OrdinalIgnoreCase);
            case 4:
                return value = v.Equals("true", StringComparison.OrdinalIgnoreCase);
            case 5:
                return v.Equals("false", StringComparison.OrdinalIgnoreCase);
            default:
                return false;
        }
    }

    internal static bool TryDate(string v, string? format, out DateTimeOffset value) => TryDate(v.AsSpan(), format, out value);

    internal static bool TryDate(ReadOnlySpan<char> v, string? format, out DateTimeOffset value)
    {
        if (format is not null && TryIsoDate(v, format, out value)) return true;
        if (format is not null)
            return DateTimeOffset.TryParseExact(v, format, CultureInfo.InvariantCulture, DateStyles, out value);
        return DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateStyles, out value);
    }

    /// <summary>
    /// The common case of an exact ISO format ("yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss"): every
    /// digit in place and every field in range, read by hand (UTC, as <see cref="DateStyles"/> assumes). Anything
    /// else is left to DateTimeOffset.TryParseExact.
    /// </summary>
    private static bool TryIsoDate(ReadOnlySpan<char> v, string format, out DateTimeOffset value)
    {
        var ok = TryIsoDateTicks(v, format, out var ticks);
        value = ok ? new DateTimeOffset(ticks, TimeSpan.Zero) : default;
        return ok;
    }

    /// <summary><see cref="TryIsoDate"/> as UTC ticks (no DateTimeOffset to build and convert).</summary>
    private static bool TryIsoDateTicks(ReadOnlySpan<char> v, string format, out long ticks)
    {
        ticks = 0;
        var withTime = format switch
        {
            "yyyy-MM-dd" => false,
            "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-ddTHH:mm:ss" => true,
            _ => (bool?)null,
        };
        if (withTime is null || v.Length != (withTime.Value ? 19 : 10)) return false;
        if (v[4] != '-' || v[7] != '-') return false;
        int year = Two(v, 0) * 100 + Two(v, 2), month = Two(v, 5), day = Two(v, 8);
        int hour = 0, minute = 0, second = 0;
        if (withTime.Value)
        {
            if (v[10] != format[10] || v[13] != ':' || v[16] != ':') return false;
            hour = Two(v, 11);
            minute = Two(v, 14);
            second = Two(v, 17);
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour is < 0 or > 23 || minute is < 0 or > 59 || second is < 0 or > 59)
            return false;
        ticks = new DateOnly(year, month, day).DayNumber * TimeSpan.TicksPerDay + (hour * 3600L + minute * 60 + second) * TimeSpan.TicksPerSecond;
        return true;
    }

    /// <summary>The number in the two ASCII digits at <paramref name="start"/>, or a negative number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Two(ReadOnlySpan<char> v, int start)
    {
        var tens = (uint)(v[start] - '0');
        var ones = (uint)(v[start + 1] - '0');
        return tens > 9 || ones > 9 ? -10_000 : (int)(tens * 10 + ones);
    }

    /// <summary><see cref="Convert"/> for <see cref="ColumnType.Boolean"/> without boxing.</summary>
    internal static bool TryConvertBoolean(ReadOnlySpan<char> v, out bool value)
    {
        if (TryBoolean(v, out value)) return true;
        if (v is "1") { value = true; return true; }
        if (v is "0") { value = false; return true; }
        return false;
    }

    /// <summary><see cref="TryConvertDate"/> as UTC ticks, the ISO fast path without a DateTimeOffset.</summary>
    internal static bool TryConvertDateTicks(ReadOnlySpan<char> v, string? dateFormat, out long utcTicks)
    {
        if (dateFormat is not null && TryIsoDateTicks(v, dateFormat, out utcTicks)) return true;
        var ok = TryConvertDate(v, dateFormat, out var value);
        utcTicks = ok ? value.UtcTicks : 0;
        return ok;
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
