using System.Globalization;
using System.Text;
using Gureum.ML.Data;
using Gureum.ML.Data.Internal;

namespace Gureum.ML.Tests;

/// <summary>
/// The ingest fast paths (plain lines read at once, batches profiled column by column on two threads, counters kept
/// as numbers) give the results of the general paths they stand in for.
/// </summary>
public sealed class IngestFastPathTests
{
    [Fact]
    public async Task Analyze_PlainLinesAndLinesTheStateMachineReads_GiveTheSameFields()
    {
        var wide = string.Join(",", Enumerable.Range(0, 40).Select(i => $"w{i}"));
        string[] lines =
        [
            "id,a,b,c",
            "1,alpha,beta,gamma",
            "2, \"q, x\",beta,gamma",
            "3,ab\"c,\"quoted \"\"twice\"\"\",tail",
            "4,,,",
            "5,\"multi\r\nline\",x,\"y\"",
            "6,\ttab,x\ty,z",
            $"7,{new string('x', 100)},{wide.Replace(",", ";", StringComparison.Ordinal)},end",
        ];
        var text = string.Join("\r", lines[..3]) + "\r" + string.Join("\n", lines[3..]) + "\n";

        var a = await TestData.AnalyzeTextAsync(text, new ReadOptions { Overrides = new Dictionary<string, ColumnOverride> { ["a"] = new(ColumnType.Text) } });
        await using var s = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(7, a.Profile.RowCount);
        Assert.Equal(0, a.SkippedRows);
        Assert.Equal(["alpha", "q, x", "ab\"c", null, "multi\nline", "tab", new string('x', 100)], rows.Select(r => (string?)r["a"]));
        Assert.Equal(["beta", "beta", "quoted \"twice\"", null, "x", "x\ty"], rows.Take(6).Select(r => (string?)r["b"]));
        Assert.Equal(["gamma", "gamma", "tail", null, "y", "z", "end"], rows.Select(r => (string?)r["c"]));
    }

    [Fact]
    public Task Analyze_WideLineOverMaxColumns_IsRejectedOnItsLine() =>
        AssertThirdLineRejectedAsync("a,b\n1,2\n" + string.Join(",", Enumerable.Range(0, 30)) + "\n",
            new DataLimits { MaxColumns = 20 }, "MaxColumns");

    [Fact]
    public Task Analyze_WideLineOverMaxColumnsAfterAQuotedField_IsRejectedOnItsLine() =>
        // 24 fields, 18 of them after the quoted one: the fast path that reads those counts on from the first six.
        AssertThirdLineRejectedAsync("a,b\n1,2\n1,2,3,4,5,\"x, y\"," + string.Join(",", Enumerable.Range(0, 18)) + "\n",
            new DataLimits { MaxColumns = 20 }, "MaxColumns");

    [Fact]
    public Task Analyze_LongLineAfterAQuotedField_IsRejectedByMaxLineBytes() =>
        // Neither part alone is over the limit: the fast path that reads the second counts on from the first.
        AssertThirdLineRejectedAsync("a,b\n1,2\n\"" + new string('q', 3_000) + "\"," + new string('x', 3_000) + "\n",
            new DataLimits { MaxLineBytes = 4_000 }, "MaxLineBytes");

    /// <summary>The file is refused with one error, on line 3, that names the limit it passed.</summary>
    private static async Task AssertThirdLineRejectedAsync(string text, DataLimits limits, string limitName)
    {
        var e = await Assert.ThrowsAsync<DataFormatException>(() => TestData.AnalyzeTextAsync(text, new ReadOptions { Limits = limits }));

        Assert.Contains(limitName, e.Message);
        Assert.Equal(3, Assert.Single(e.Errors).Line);
    }

    [Fact]
    public async Task Analyze_PlainFieldsAfterQuotedOnes_ReadAsTheirOwnFields()
    {
        var text = "q,n,r,m\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"\"a, {i}\",{i % 50},\"b\"\"{i}\",{i}.5\n"));

        var a = await TestData.AnalyzeTextAsync(text);

        Assert.Equal(0, a.SkippedRows);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("n").Type);
        Assert.Equal(49, a.Column("n").Max);
        Assert.Equal(ColumnType.Float, a.SchemaOf("m").Type);
        Assert.Equal(200, a.Column("m").Distinct);
        Assert.Equal(200, a.Column("r").Distinct);
    }

    [Theory]
    [InlineData(',')]
    [InlineData(';')]
    [InlineData('\t')]
    public async Task Analyze_CharsWhoseLowByteIsADelimiterQuoteOrLineEnd_StayInTheirField(char delimiter)
    {
        // The vectorized scan narrows chars to bytes: U+012C, U+013B and U+0109 end in the bytes of ',', ';' and tab,
        // U+010A and U+010D in those of the line ends, U+0122 in a quote's and U+0120 in a space's; Hangul is past
        // U+7FFF. Each must stay a letter of its field, in lines long enough for the widest steps.
        var odd = "\u012C\u013B\u0109\u010A\u010D\u0122\u0120\uAC00\u00FF";
        var d = delimiter.ToString();
        var text = string.Join(d, "id", "word", "n") + "\n" + string.Concat(Enumerable.Range(0, 300).Select(i =>
            string.Join(d, i.ToString(CultureInfo.InvariantCulture), $"{odd}{i % 7}{odd}{new string('x', i % 40)}{odd}", (i % 11).ToString(CultureInfo.InvariantCulture)) + "\n"));

        var a = await TestData.AnalyzeTextAsync(text, new ReadOptions { Delimiter = delimiter });

        Assert.Equal(300, a.Profile.RowCount);
        Assert.Equal(0, a.SkippedRows);
        Assert.Equal(["id", "word", "n"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(10, a.Column("n").Max);
        Assert.Equal(3 * odd.Length + 1, a.Column("word").MinLength);
        await using var s = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var rows = await TestData.ReadAllAsync(s, a);
        Assert.Equal($"{odd}5{odd}{new string('x', 5)}{odd}", rows[5]["word"]);
    }

    /// <summary>Enough rows for the batched, two-thread profile to run after the sample (10 000 rows).</summary>
    private const int Rows = 50_000;

    [Fact]
    public async Task Analyze_ManyRows_ProfilesEveryTypeAfterTheSample()
    {
        var sb = new StringBuilder("n,x,flag,day,cat,label,ragged\n");
        for (var i = 0; i < Rows; i++)
        {
            var bit = (i % 5) switch { 0 => "yes", 1 => "TRUE", 2 => "no", 3 => "f", _ => "t" };
            var ragged = i % 1000 == 0 ? "" : (i % 7).ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"{i},{i % 100 / 4.0},{bit},2024-01-{i % 28 + 1:00},k{i % 12},{(i % 12 < 6 ? "lo" : "hi")},{ragged}\n");
        }

        var a = await TestData.AnalyzeTextAsync(sb.ToString(), new ReadOptions { Target = "label" });

        Assert.Equal(Rows, a.Profile.RowCount);
        var n = a.Column("n");
        Assert.Equal(ColumnType.Id, n.Type);
        Assert.Equal(Rows, n.Distinct);
        Assert.False(n.DistinctIsEstimate);
        var x = a.Column("x");
        Assert.Equal(ColumnType.Float, x.Type);
        Assert.Equal(100, x.Distinct);
        Assert.Equal(12.375, x.Mean!.Value, 9);
        var flag = a.Column("flag");
        Assert.Equal(ColumnType.Boolean, flag.Type);
        Assert.Equal([new ValueCount("true", Rows / 5 * 3), new ValueCount("false", Rows / 5 * 2)], flag.TopValues);
        Assert.Equal(2, flag.Distinct); // by value, as the top values count them (not five spellings)
        var day = a.Column("day");
        Assert.Equal(ColumnType.DateTime, day.Type);
        Assert.Equal("2024-01-01T00:00:00Z", day.MinDate);
        Assert.Equal("2024-01-28T00:00:00Z", day.MaxDate);
        var cat = a.Column("cat");
        Assert.Equal(ColumnType.Categorical, cat.Type);
        Assert.Equal(12, cat.Distinct);
        Assert.Equal(Rows / 12 + 1, cat.TopValues![0].Count);
        Assert.Equal(Rows / 1000, a.Column("ragged").Missing);
        Assert.Contains(a.Profile.Warnings, w => w.Code == "target-leakage" && w.Column == "cat");
        Assert.DoesNotContain(a.Profile.Warnings, w => w.Code == "target-leakage" && w.Column != "cat");
    }

    [Fact]
    public async Task Analyze_IntegerColumns_CountDistinctValuesAcrossTheirValueCounter()
    {
        // Distinct integers come from the value counter while it counts every value (up to 1 000 values), then from
        // the sketch: a column on each side of that bound, and one whose spellings of zero are one value.
        var sb = new StringBuilder("few,many,zero\n");
        for (var i = 0; i < Rows; i++)
        {
            var zero = (i % 3) switch { 0 => "0", 1 => "-0", _ => "00" };
            // "many": 1 000 values, then 500 others that pass the bound (the first 1 000 never come back).
            var many = i < Rows / 2 ? i % 1000 : 1000 + i % 500;
            sb.Append(CultureInfo.InvariantCulture, $"{i % 300},{many},{zero}\n");
        }

        var a = await TestData.AnalyzeTextAsync(sb.ToString());

        Assert.Equal(ColumnType.Integer, a.SchemaOf("few").Type);
        Assert.Equal(300, a.Column("few").Distinct);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("many").Type);
        Assert.Equal(1500, a.Column("many").Distinct);
        Assert.False(a.Column("many").DistinctIsEstimate);
        Assert.Null(a.Column("many").TopValues);
        Assert.Equal(1, a.Column("zero").Distinct);
        Assert.Contains(a.Profile.Warnings, w => w.Code == "constant" && w.Column == "zero");
    }

    [Fact]
    public async Task Analyze_CategoricalWithMoreValuesThanItsTopCounter_CountsDistinctExactly()
    {
        const int distinct = 30_000;
        var sb = new StringBuilder("code\n");
        for (var i = 0; i < 2 * distinct; i++) sb.Append(CultureInfo.InvariantCulture, $"c{i % distinct}\n");

        var a = await TestData.AnalyzeTextAsync(sb.ToString(),
            new ReadOptions { Overrides = new Dictionary<string, ColumnOverride> { ["code"] = new(ColumnType.Categorical) } });

        var code = a.Column("code");
        Assert.Equal(distinct, code.Distinct);
        Assert.False(code.DistinctIsEstimate);
    }

    [Fact]
    public void DistinctCounter_CountsHashesInBulkAsOneByOne()
    {
        var one = new DistinctCounter();
        var bulk = new DistinctCounter();
        var hashes = new List<ulong>();
        for (var i = 0; i < 300_000; i++)
        {
            var v = $"v{i % 250_000}";
            one.Add(v);
            hashes.Add(DistinctCounter.Hash(v));
        }
        bulk.AddHashes(hashes.ToArray());

        Assert.True(one.IsEstimate);
        Assert.True(bulk.IsEstimate);
        Assert.Equal(one.Count, bulk.Count);
    }

    [Fact]
    public void ULongSet_KeepsZeroAndEveryValueOnce()
    {
        var set = new ULongSet();
        Assert.True(set.Add(0));
        Assert.False(set.Add(0));
        for (ulong i = 1; i <= 10_000; i++) Assert.True(set.Add(i * 0x9E3779B97F4A7C15UL));
        for (ulong i = 1; i <= 10_000; i++) Assert.False(set.Add(i * 0x9E3779B97F4A7C15UL));

        Assert.Equal(10_001, set.Count);
        Assert.Equal(10_001, set.ToArray().Distinct().Count());
    }

    [Theory]
    [InlineData("true")]
    [InlineData("TRUE")]
    [InlineData("False")]
    [InlineData("yEs")]
    [InlineData("No")]
    [InlineData("t")]
    [InlineData("F")]
    [InlineData("y")]
    [InlineData("tru")]
    [InlineData("falsey")]
    [InlineData("1")]
    [InlineData("")]
    public void TryBoolean_MatchesTheTokenTable(string text)
    {
        var expected = Values.TryBoolean(text, out var e);
        Assert.Equal(expected, Values.TryBoolean(text.AsSpan(), out var actual));
        Assert.Equal(e, actual);
    }

    [Theory]
    [InlineData("2024-02-29", "yyyy-MM-dd")]
    [InlineData("2023-02-29", "yyyy-MM-dd")]
    [InlineData("2024-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2024-01-02T03:04:05", "yyyy-MM-ddTHH:mm:ss")]
    [InlineData("2024-01-02T03:04:05+09:00", "yyyy-MM-ddTHH:mm:ssK")]
    [InlineData("01/02/2024", "MM/dd/yyyy")]
    [InlineData("2024-01-02", "MM/dd/yyyy")]
    [InlineData("not a date", "yyyy-MM-dd")]
    [InlineData("2024-01-02 03:04", null)]
    public void TryConvertDateTicks_MatchesTryConvertDate(string text, string? format)
    {
        var expected = Values.TryConvertDate(text.AsSpan(), format, out var e);
        Assert.Equal(expected, Values.TryConvertDateTicks(text.AsSpan(), format, out var ticks));
        if (expected) Assert.Equal(e.UtcTicks, ticks);
    }
}
