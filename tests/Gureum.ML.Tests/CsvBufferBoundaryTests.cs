using System.Globalization;
using System.Text;
using Gureum.ML.Data;

namespace Gureum.ML.Tests;

/// <summary>The CSV parser reads in blocks: records, quotes and CRLF cut by a block boundary read the same.</summary>
public sealed class CsvBufferBoundaryTests
{
    [Fact]
    public async Task Analyze_RecordsAcrossBlockBoundaries_ReadEveryValue()
    {
        var sb = new StringBuilder("id,name,note,amount\r\n");
        const int rows = 40_000;
        for (var i = 0; i < rows; i++)
        {
            var note = (i % 7) switch
            {
                0 => "\"line one\r\nline two, with \"\"quotes\"\"\"",
                1 => "  plain with leading spaces",
                2 => "\"quoted\"  ",
                3 => "",
                _ => "note " + (i % 13).ToString(CultureInfo.InvariantCulture),
            };
            sb.Append(CultureInfo.InvariantCulture, $"{i},name{i % 50},{note},{i % 100}.5\r\n");
            if (i % 1000 == 0) sb.Append("\r\n");
        }
        var text = sb.ToString();
        Assert.True(text.Length > 1_000_000);

        var a = await TestData.AnalyzeTextAsync(text);
        Assert.Equal(rows, a.Profile.RowCount);
        Assert.Equal(0, a.SkippedRows);
        Assert.Equal(ColumnType.Float, a.SchemaOf("amount").Type);
        Assert.Equal(0, a.Column("amount").Missing);
        Assert.Equal(rows / 7 + (rows % 7 > 3 ? 1 : 0), a.Column("note").Missing);
        await using var s = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var rowsRead = await TestData.ReadAllAsync(s, a);
        Assert.Equal(rows, rowsRead.Count);
        Assert.Equal("line one\nline two, with \"quotes\"", rowsRead[7]["note"]);
        Assert.Equal("plain with leading spaces", rowsRead[8]["note"]);
        Assert.Equal("quoted", rowsRead[9]["note"]);
        Assert.Equal("39999", rowsRead[^1]["id"]?.ToString());
    }

    [Fact]
    public async Task Analyze_PlainLinesAcrossBlockBoundaries_ReadEveryValue()
    {
        // No header, LF only, no quotes and rows long enough that batches fill by chars, not rows: the kept chars equal
        // the file's, so the first batch fills exactly at the first block boundary, where a line is cut in two (a line
        // lost or split there shows up as a missing or ragged row).
        var sb = new StringBuilder();
        const int rows = 80_000;
        double sum = 0;
        for (var i = 0; i < rows; i++)
        {
            sum += i % 997 * 1.25;
            sb.Append(CultureInfo.InvariantCulture, $"{i},{i % 997 * 1.25},{new string('x', 40 + i % 61)}\n");
        }
        var text = sb.ToString();
        Assert.True(text.Length > 6_000_000);

        var a = await TestData.AnalyzeTextAsync(text, new ReadOptions { HasHeader = false, OnError = OnError.Reject });

        Assert.Equal(rows, a.Profile.RowCount);
        Assert.Equal(0, a.SkippedRows);
        var value = a.Column("column_2");
        Assert.Equal(0, value.Missing);
        Assert.Equal(sum / rows, value.Mean!.Value, 9);
        Assert.Equal(rows, a.Column("column_1").Distinct);
        Assert.Equal(40, a.Column("column_3").MinLength);
        Assert.Equal(100, a.Column("column_3").MaxLength);
    }
}
