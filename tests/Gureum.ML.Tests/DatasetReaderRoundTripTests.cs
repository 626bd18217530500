using System.Text;
using System.Text.Json;
using Gureum.ML.Data;
using Parquet.Serialization;

namespace Gureum.ML.Tests;

public sealed class DatasetReaderRoundTripTests
{
    public sealed class Reading
    {
        public long Id { get; set; }
        public string Station { get; set; } = "";
        public double Value { get; set; }
        public bool Ok { get; set; }
        public DateTime At { get; set; }
        public string? Note { get; set; }
    }

    internal static async Task<byte[]> WriteParquetAsync(int rows)
    {
        var data = Enumerable.Range(0, rows).Select(i => new Reading
        {
            Id = i + 1,
            Station = $"S{i % 4}",
            Value = i * 0.5,
            Ok = i % 3 != 0,
            At = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(i),
            Note = i % 10 == 0 ? null : $"note {i}",
        }).ToList();
        using var ms = new MemoryStream();
        await ParquetSerializer.SerializeAsync(data, ms, cancellationToken: TestContext.Current.CancellationToken);
        return ms.ToArray();
    }

    [Fact]
    public async Task Analyze_GzipCsv_GivesTheSameAnalysisAsPlain()
    {
        var bytes = await File.ReadAllBytesAsync(TestData.Dataset("titanic.csv"), TestContext.Current.CancellationToken);

        var plain = await TestData.AnalyzeBytesAsync(bytes, new ReadOptions { Target = "survived" });
        var gz = await TestData.AnalyzeBytesAsync(TestData.Gzip(bytes), new ReadOptions { Target = "survived" });

        Assert.False(plain.Format.Gzip);
        Assert.True(gz.Format.Gzip);
        Assert.Equal(plain.Format with { Gzip = true }, gz.Format);
        Assert.Equal(plain.Schema.Columns, gz.Schema.Columns);
        Assert.Equal(plain.Profile.RowCount, gz.Profile.RowCount);
        Assert.Equal(plain.Profile.Warnings, gz.Profile.Warnings);
        Assert.Equal(plain.Column("fare").Mean, gz.Column("fare").Mean);
        Assert.Equal(plain.Column("fare").Quantiles, gz.Column("fare").Quantiles);
    }

    [Fact]
    public async Task ReadRows_GzipCsv_ReadsTheSameRows()
    {
        var bytes = TestData.Gzip(await File.ReadAllBytesAsync(TestData.Dataset("penguins.csv"), TestContext.Current.CancellationToken));
        var a = await TestData.AnalyzeBytesAsync(bytes);
        using var s = new Gureum.ML.Data.Internal.CountingStream(new MemoryStream(bytes));

        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(344, rows.Count);
        Assert.Equal("Adelie", rows[0]["species"]);
        Assert.Equal(39.1, rows[0]["bill_length_mm"]);
        Assert.Equal(181L, rows[0]["flipper_length_mm"]);
        Assert.Null(rows[3]["bill_length_mm"]);
    }

    [Fact]
    public async Task Analyze_ParquetWrittenByParquetNet_RoundTrips()
    {
        var bytes = await WriteParquetAsync(500);

        var a = await TestData.AnalyzeBytesAsync(bytes, new ReadOptions { Target = "Ok" });

        Assert.Equal(DataFormat.Parquet, a.Format.Format);
        Assert.Equal(500, a.Profile.RowCount);
        Assert.Equal(["Id", "Station", "Value", "Ok", "At", "Note"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(ColumnType.Id, a.SchemaOf("Id").Type);
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("Station").Type);
        Assert.Equal(ColumnType.Float, a.SchemaOf("Value").Type);
        Assert.Equal(ColumnType.Boolean, a.SchemaOf("Ok").Type);
        Assert.Equal(ColumnType.DateTime, a.SchemaOf("At").Type);
        Assert.Equal(50, a.Column("Note").Missing);
        Assert.Equal(124.75, a.Column("Value").Mean!.Value, 6);
        Assert.Equal("2024-01-01T00:00:00Z", a.Column("At").MinDate);
    }

    [Fact]
    public async Task ReadRows_ParquetFromForwardOnlyGzipStream_SpoolsAndRoundTrips()
    {
        var bytes = TestData.Gzip(await WriteParquetAsync(300));
        var a = await TestData.AnalyzeBytesAsync(bytes);
        using var s = new Gureum.ML.Data.Internal.CountingStream(new MemoryStream(bytes));

        var rows = await TestData.ReadAllAsync(s, a);

        Assert.True(a.Format.Gzip);
        Assert.Equal(300, rows.Count);
        Assert.Equal("S1", rows[1]["Station"]);
        Assert.Equal(0.5, rows[1]["Value"]);
        Assert.Equal(true, rows[1]["Ok"]);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 1, 0, 0, TimeSpan.Zero), rows[1]["At"]);
        Assert.Null(rows[0]["Note"]);
    }

    [Fact]
    public async Task Analyze_JsonLines_UnionsKeysInFirstSeenOrderAndRoundTrips()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 100; i++)
        {
            var row = new Dictionary<string, object?> { ["name"] = $"user{i % 7}", ["age"] = 20 + i % 50 };
            if (i % 2 == 0) row["score"] = i / 4.0;
            if (i >= 50) row["active"] = i % 3 == 0;
            sb.Append(JsonSerializer.Serialize(row)).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());

        var a = await TestData.AnalyzeBytesAsync(bytes);
        using var s = new MemoryStream(bytes);
        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(DataFormat.Jsonl, a.Format.Format);
        Assert.Equal(["name", "age", "score", "active"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("name").Type);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("age").Type);
        Assert.Equal(ColumnType.Float, a.SchemaOf("score").Type);
        Assert.Equal(ColumnType.Boolean, a.SchemaOf("active").Type);
        Assert.Equal(50, a.Column("score").Missing);
        Assert.Equal(50, a.Column("active").Missing);
        Assert.Equal(100, rows.Count);
        Assert.Equal(20L, rows[0]["age"]);
        Assert.Null(rows[0]["active"]);
        Assert.Equal(true, rows[51]["active"]);
    }

    [Theory]
    [InlineData(';')]
    [InlineData('\t')]
    [InlineData('|')]
    public async Task Analyze_OtherDelimiters_AreDetected(char delimiter)
    {
        var text = $"a{delimiter}b{delimiter}c\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i}{delimiter}x,{i}{delimiter}{i * 1.5}\n"));

        var a = await TestData.AnalyzeTextAsync(text);

        Assert.Equal(delimiter, a.Format.Delimiter);
        Assert.True(a.Format.HasHeader);
        Assert.Equal(["a", "b", "c"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(30, a.Profile.RowCount);
    }

    [Fact]
    public async Task Analyze_Utf8BomAndCrLf_AreHandled()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("이름,점수\r\n가,1\r\n나,2\r\n다,3\r\n")).ToArray();

        var a = await TestData.AnalyzeBytesAsync(bytes);

        Assert.Equal(["이름", "점수"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(3, a.Profile.RowCount);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("점수").Type);
    }

    [Fact]
    public async Task Analyze_ManyDistinctValues_EstimatesDistinctBeyondTheExactBound()
    {
        var sb = new StringBuilder("key,n\n");
        for (var i = 0; i < 150_000; i++) sb.Append('k').Append(i).Append(",1\n");

        var a = await TestData.AnalyzeTextAsync(sb.ToString());

        var key = a.Column("key");
        Assert.Equal(ColumnType.Id, key.Type);
        Assert.True(key.DistinctIsEstimate);
        Assert.InRange(key.Distinct, 140_000, 160_000);
        Assert.Contains(a.Profile.Warnings, w => w.Code == "likely-id" && w.Column == "key");
    }
}

public sealed class DatasetReaderParquetEdgeTests
{
    [Fact]
    public async Task Analyze_ParquetAfterAnOffsetInASeekableStream_IsSpooledAndRead()
    {
        var parquet = await DatasetReaderRoundTripTests.WriteParquetAsync(40);
        using var s = new MemoryStream([.. new byte[10], .. parquet]);
        s.Position = 10;

        var a = await DatasetReader.AnalyzeAsync(s, new ReadOptions(), TestContext.Current.CancellationToken);

        Assert.Equal(40, a.Profile.RowCount);
    }

    [Fact]
    public async Task Analyze_ParquetWithAbsurdFooterLength_IsRejectedWithoutAllocatingIt()
    {
        var parquet = await DatasetReaderRoundTripTests.WriteParquetAsync(40);
        BitConverter.GetBytes(int.MaxValue - 1).CopyTo(parquet, parquet.Length - 8);

        var e = await Assert.ThrowsAsync<DataFormatException>(() => TestData.AnalyzeBytesAsync(parquet));

        Assert.Contains("footer", e.Message);
    }
}
