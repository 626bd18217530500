using System.Text;
using Gureum.ML.Data;

namespace Gureum.ML.Tests;

public sealed class DatasetReaderBadInputTests
{
    private static async Task<DataFormatException> RejectsAsync(string text, ReadOptions? options = null) =>
        await Assert.ThrowsAsync<DataFormatException>(() => TestData.AnalyzeTextAsync(text, options));

    private static async Task<DataFormatException> RejectsAsync(byte[] bytes, ReadOptions? options = null) =>
        await Assert.ThrowsAsync<DataFormatException>(() => TestData.AnalyzeBytesAsync(bytes, options));

    [Fact]
    public async Task Analyze_RaggedRow_IsRejectedWithItsLine()
    {
        var e = await RejectsAsync("a,b,c\n1,2,3\n4,5\n6,7,8\n");

        var error = Assert.Single(e.Errors);
        Assert.Equal(3, error.Line);
        Assert.Contains("2 fields", error.Message);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public async Task Analyze_SeveralBadRows_ReportsUpToMaxReportedErrors()
    {
        var text = "a,b\n" + string.Concat(Enumerable.Range(0, 50).Select(i => i % 2 == 0 ? $"{i},{i}\n" : $"{i}\n"));

        var e = await RejectsAsync(text, new ReadOptions { Limits = new DataLimits { MaxReportedErrors = 5 } });

        Assert.Equal(5, e.Errors.Count);
        Assert.Equal([3L, 5, 7, 9, 11], e.Errors.Select(x => x.Line));
    }

    [Fact]
    public async Task Analyze_SkipMode_SkipsRaggedRowsAndReportsThem()
    {
        var a = await TestData.AnalyzeTextAsync("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n", new ReadOptions { OnError = OnError.Skip });

        Assert.Equal(2, a.Profile.RowCount);
        Assert.Equal(2, a.SkippedRows);
        Assert.Equal([3L, 5], a.Errors.Select(x => x.Line));
    }

    [Fact]
    public async Task Analyze_UnterminatedQuote_IsRejectedWithLineAndColumn()
    {
        var e = await RejectsAsync("id,name,score\n1,\"ok\",3\n2,\"broken,4\n3,x,5\n");

        var error = Assert.Single(e.Errors);
        Assert.Equal(3, error.Line);
        Assert.Equal("name", error.Column);
        Assert.Contains("Unterminated", error.Message);
    }

    [Fact]
    public async Task Analyze_QuotedFieldsWithDelimitersQuotesAndNewlines_AreRead()
    {
        var text = "id,comment,n\n1,\"a, b\",1\n2,\"she said \"\"hi\"\"\",2\n3,\"two\nlines\",3\n4,plain,4\n";
        var a = await TestData.AnalyzeTextAsync(text);
        using var s = new MemoryStream(Encoding.UTF8.GetBytes(text));

        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(4, a.Profile.RowCount);
        Assert.Equal(["a, b", "she said \"hi\"", "two\nlines", "plain"], rows.Select(r => (string?)r["comment"]));
    }

    [Fact]
    public async Task Analyze_InvalidUtf8InTheMiddle_IsRejectedWithLineAndColumn()
    {
        var head = Encoding.UTF8.GetBytes("city,population\n" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"서울{i},{i}\n")));
        var bad = "Bad"u8.ToArray().Concat(new byte[] { 0xC3, 0x28 }).Concat(",5\nend,6\n"u8.ToArray()).ToArray();

        var e = await RejectsAsync([.. head, .. bad]);

        var error = Assert.Single(e.Errors);
        Assert.Equal(5002, error.Line);
        Assert.Equal("city", error.Column);
        Assert.Contains("utf-8", error.Message);
    }

    [Fact]
    public async Task Analyze_Latin1File_IsDetectedAndDecoded()
    {
        var bytes = Encoding.Latin1.GetBytes("name,n\nJosé,1\nZoë,2\nAndré,3\n");

        var a = await TestData.AnalyzeBytesAsync(bytes);

        Assert.Equal("latin1", a.Format.Encoding);
        Assert.Contains(a.Column("name").TopValues!, v => v.Value == "José");
    }

    [Fact]
    public async Task Analyze_NumericColumnWithStrayText_StaysNumericWithMixedTypesWarning()
    {
        var text = "x,y\n" + string.Concat(Enumerable.Range(0, 200).Select(i => i == 77 ? "oops,a\n" : $"{i}.5,a\n"));

        var a = await TestData.AnalyzeTextAsync(text);

        var x = a.Column("x");
        Assert.Equal(ColumnType.Float, x.Type);
        Assert.Equal(1, x.Missing);
        Assert.Contains(a.Profile.Warnings, w => w.Code == "mixed-types" && w.Column == "x");
        Assert.Contains(a.Profile.Warnings, w => w.Code == "constant" && w.Column == "y");
    }

    [Fact]
    public async Task Analyze_EmptyFile_IsRejected()
    {
        var e = await RejectsAsync([]);

        Assert.Contains("empty", e.Message);
        Assert.NotEmpty(e.Errors);
    }

    [Fact]
    public async Task Analyze_WhitespaceOnlyFile_IsRejected()
    {
        var e = await RejectsAsync("\n\n  \n");

        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public async Task Analyze_HeaderOnly_IsRejectedAsNoDataRows()
    {
        var e = await RejectsAsync("name,age,city\n");

        Assert.Contains("no data rows", e.Message);
    }

    [Fact]
    public async Task Analyze_DuplicateColumnNames_AreRejected()
    {
        var e = await RejectsAsync("id,name,name\n1,a,b\n", new ReadOptions { OnError = OnError.Skip });

        var error = Assert.Single(e.Errors);
        Assert.Equal(1, error.Line);
        Assert.Equal("name", error.Column);
        Assert.Contains("Duplicate", e.Message);
    }

    [Fact]
    public async Task Analyze_TenMegabyteLine_IsRejectedByMaxLineBytes()
    {
        var text = "a,b\n1,2\n3," + new string('x', 10 * 1024 * 1024) + "\n";

        var e = await RejectsAsync(text);

        Assert.Contains("MaxLineBytes", e.Message);
        Assert.Equal(3, Assert.Single(e.Errors).Line);
    }

    [Fact]
    public async Task Analyze_TooManyColumns_IsRejectedByMaxColumns()
    {
        var header = string.Join(",", Enumerable.Range(0, 60).Select(i => $"c{i}"));
        var row = string.Join(",", Enumerable.Range(0, 60));

        var e = await RejectsAsync($"{header}\n{row}\n", new ReadOptions { Limits = new DataLimits { MaxColumns = 50 } });

        Assert.Contains("MaxColumns", e.Message);
        Assert.Equal(1, Assert.Single(e.Errors).Line);
    }

    [Fact]
    public async Task Analyze_GzipBomb_IsRejectedBeforeDecompressingItAll()
    {
        var zeros = new byte[200 * 1024 * 1024];
        var bomb = TestData.Gzip(zeros);
        using var inner = new MemoryStream(bomb);
        var s = new Gureum.ML.Data.Internal.CountingStream(inner);

        var e = await Assert.ThrowsAsync<DataFormatException>(() => DatasetReader.AnalyzeAsync(s, new ReadOptions(), TestContext.Current.CancellationToken));

        Assert.Contains("MaxCompressionRatio", e.Message);
        Assert.True(s.BytesRead < bomb.Length / 4, $"read {s.BytesRead} of {bomb.Length} compressed bytes");
    }

    [Fact]
    public async Task Analyze_GzipOverMaxDecompressedBytes_IsRejected()
    {
        var gz = TestData.Gzip(await File.ReadAllBytesAsync(TestData.Dataset("adult-train.csv"), TestContext.Current.CancellationToken));

        var e = await RejectsAsync(gz, new ReadOptions { Limits = new DataLimits { MaxDecompressedBytes = 1_000_000 } });

        Assert.Contains("MaxDecompressedBytes", e.Message);
    }

    [Fact]
    public async Task Analyze_CorruptGzip_IsRejected()
    {
        var gz = TestData.Gzip(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 5000).Select(i => $"{i},{i * 3}\n"))));
        for (var i = 20; i < gz.Length - 8; i += 7) gz[i] ^= 0x5A;

        await RejectsAsync(gz);
    }

    [Fact]
    public async Task Analyze_TruncatedParquet_IsRejected()
    {
        var parquet = await DatasetReaderRoundTripTests.WriteParquetAsync(1000);

        var e = await RejectsAsync(parquet[..(parquet.Length / 2)], new ReadOptions());

        Assert.Contains("Parquet", e.Message);
    }

    [Fact]
    public async Task Analyze_ParquetWithGarbageAfterMagic_IsRejected()
    {
        var bytes = "PAR1"u8.ToArray().Concat(Enumerable.Repeat((byte)0xAB, 4096)).Concat("PAR1"u8.ToArray()).ToArray();

        var e = await RejectsAsync(bytes);

        Assert.Contains("Parquet", e.Message);
    }

    [Fact]
    public async Task Analyze_InvalidJsonLine_IsRejectedWithItsLine()
    {
        var e = await RejectsAsync("{\"a\":1}\n{\"a\":2}\n{\"a\":\n[1,2]\n");

        Assert.Equal([3L, 4], e.Errors.Select(x => x.Line));
        Assert.Contains("not a JSON object", e.Errors[1].Message);
    }
}

public sealed class DatasetReaderLimitTests
{
    [Fact]
    public async Task Analyze_UnterminatedQuoteInALargeFile_StopsAtMaxLineBytes()
    {
        var text = "a,b\n1,2\n3,\"never closed\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i},{i}\n"));

        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            TestData.AnalyzeTextAsync(text, new ReadOptions { Limits = new DataLimits { MaxLineBytes = 10_000 } }));

        Assert.Contains("MaxLineBytes", e.Message);
        Assert.Contains("unterminated quote", e.Message);
        Assert.Equal(3, Assert.Single(e.Errors).Line);
    }

    [Fact]
    public async Task Analyze_MoreRowsThanMaxRows_IsRejected()
    {
        var text = "n\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"{i}\n"));

        var e = await Assert.ThrowsAsync<DataFormatException>(() =>
            TestData.AnalyzeTextAsync(text, new ReadOptions { Limits = new DataLimits { MaxRows = 50 } }));

        Assert.Contains("MaxRows", e.Message);
    }

    [Fact]
    public async Task Analyze_ExplicitSettings_OverrideDetection()
    {
        var a = await TestData.AnalyzeTextAsync("1;2\n3;4\n", new ReadOptions { Delimiter = ';', HasHeader = false, Encoding = "utf-8", Format = DataFormat.Csv });

        Assert.Equal(new DetectedFormat(DataFormat.Csv, false, ';', false, "utf-8"), a.Format);
        Assert.Equal(2, a.Profile.RowCount);
    }
}
