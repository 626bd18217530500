using System.Globalization;
using Gureum.ML.Data.Internal;

namespace Gureum.ML.Tests;

/// <summary>The hand-written fast paths read values exactly as the framework parsers they stand in for.</summary>
public sealed class ValuesFastPathTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("+7")]
    [InlineData("0.1")]
    [InlineData("-1.379644")]
    [InlineData("99591.58")]
    [InlineData("123456789012345")]
    [InlineData("1234567890.12345")]
    [InlineData("0.000000000000001")]
    [InlineData("000123.4500")]
    [InlineData("9007199254740993")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1e5")]
    [InlineData("1,5")]
    [InlineData("-")]
    [InlineData("1.2.3")]
    public void TryDouble_MatchesDoubleParse(string text)
    {
        var expected = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) && double.IsFinite(e);
        Assert.Equal(expected, Values.TryDouble(text.AsSpan(), out var actual));
        if (expected) Assert.Equal(BitConverter.DoubleToInt64Bits(e), BitConverter.DoubleToInt64Bits(actual));
    }

    [Fact]
    public void TryDouble_MatchesDoubleParse_OnRandomDecimals()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var digits = random.Next(1, 16);
            var whole = random.NextInt64((long)Math.Pow(10, digits));
            var scale = random.Next(0, digits + 1);
            var text = (whole / Math.Pow(10, scale)).ToString("F" + scale, CultureInfo.InvariantCulture);
            if (random.Next(2) == 0) text = "-" + text;
            Assert.True(Values.TryDouble(text.AsSpan(), out var actual), text);
            Assert.Equal(double.Parse(text, CultureInfo.InvariantCulture), actual);
        }
    }

    [Theory]
    [InlineData("2020-09-01", "yyyy-MM-dd")]
    [InlineData("2020-02-29", "yyyy-MM-dd")]
    [InlineData("2021-02-29", "yyyy-MM-dd")]
    [InlineData("2020-13-01", "yyyy-MM-dd")]
    [InlineData("2020-9-01", "yyyy-MM-dd")]
    [InlineData("0000-01-01", "yyyy-MM-dd")]
    [InlineData("2020-09-01 12:43:13", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2020-09-01 24:00:00", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2020-09-01 23:59:60", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2020-09-01T12:43:13", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2020-09-01T12:43:13", "yyyy-MM-ddTHH:mm:ss")]
    [InlineData("2020-09-01 12:43:13", "yyyy-MM-ddTHH:mm:ss")]
    [InlineData("2020-09-01 12:43", "yyyy-MM-dd HH:mm:ss")]
    public void TryDate_MatchesTryParseExact(string text, string format)
    {
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;
        var expected = DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, styles, out var e);
        Assert.Equal(expected, Values.TryDate(text.AsSpan(), format, out var actual));
        if (expected)
        {
            Assert.Equal(e, actual);
            Assert.Equal(e.Offset, actual.Offset);
        }
    }

    [Fact]
    public void TryDate_RandomDatesAndTimes_MatchTryParseExact()
    {
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;
        var random = new Random(42);
        string[] formats = ["yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss"];
        // Leap days of leap and common years (1900 is not one, 2000 is), month ends, and random days of any year.
        string[] fixedDates = ["1900-02-29", "2000-02-29", "2023-02-29", "2024-02-29", "0001-01-01", "9999-12-31", "2024-04-31", "2024-12-31"];
        var dates = fixedDates.Concat(Enumerable.Range(0, 3000).Select(_ =>
            $"{random.Next(0, 10000):0000}-{random.Next(0, 14):00}-{random.Next(0, 33):00}"));
        foreach (var date in dates)
        {
            var time = $"{random.Next(0, 25):00}:{random.Next(0, 61):00}:{random.Next(0, 61):00}";
            foreach (var format in formats)
            {
                var text = format.Length == 10 ? date : date + format[10] + time;
                var expected = DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, styles, out var e);
                Assert.Equal(expected, Values.TryDate(text.AsSpan(), format, out var actual));
                if (expected) Assert.Equal(e, actual);
            }
        }
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("NA", true)]
    [InlineData("n/A", true)]
    [InlineData("NaN", true)]
    [InlineData("NULL", true)]
    [InlineData("None", true)]
    [InlineData("#n/a", true)]
    [InlineData("?", true)]
    [InlineData("-", true)]
    [InlineData("nana", false)]
    [InlineData("0", false)]
    [InlineData("nulls", false)]
    [InlineData("n", false)]
    [InlineData("N", false)]
    [InlineData("#", false)]
    [InlineData("Na", true)]
    [InlineData("none ", false)]
    [InlineData("xna", false)]
    public void IsMissing_KnowsTheTokens(string text, bool missing) => Assert.Equal(missing, Values.IsMissing(text.AsSpan()));
}
