using Gureum.ML.Data;

namespace Gureum.ML.Tests;

public sealed class DatasetReaderDatasetTests
{
    public static TheoryData<string> Files => new(TestData.DatasetFiles());

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Analyze_EveryDatasetFile_ReadsEveryRowWithoutErrors(string file)
    {
        var lines = File.ReadLines(TestData.Dataset(file)).Count(l => l.Trim().Length > 0);

        var a = await TestData.AnalyzeFileAsync(file);

        var expected = a.Format.HasHeader == true ? lines - 1 : lines;
        Assert.Equal(expected, a.Profile.RowCount);
        Assert.True(a.Profile.RowCount > 100);
        Assert.Empty(a.Errors);
        Assert.Equal(0, a.SkippedRows);
        Assert.Equal(DataFormat.Csv, a.Format.Format);
        Assert.Equal(',', a.Format.Delimiter);
        Assert.Equal(a.Schema.Columns.Count, a.Profile.Columns.Count);
        Assert.All(a.Profile.Columns, c => Assert.Equal(a.Profile.RowCount, c.Count));
    }

    [Fact]
    public async Task Analyze_AdultTrainWithoutHeader_NamesColumnsAndInfersTypes()
    {
        var a = await TestData.AnalyzeFileAsync("adult-train.csv");

        Assert.False(a.Format.HasHeader);
        Assert.Equal(32_561, a.Profile.RowCount);
        Assert.Equal(15, a.Schema.Columns.Count);
        Assert.Equal(Enumerable.Range(1, 15).Select(i => $"column_{i}"), a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(ColumnType.Integer, a.SchemaOf("column_1").Type);
        var age = a.Column("column_1");
        Assert.Equal(17, age.Min);
        Assert.Equal(90, age.Max);
        Assert.Equal(38.58, age.Mean!.Value, 2);

        Assert.Equal(ColumnType.Categorical, a.SchemaOf("column_2").Type);
        var workclass = a.Column("column_2");
        Assert.Equal(1_836, workclass.Missing);
        Assert.Equal(8, workclass.Distinct);
        Assert.Equal("Private", workclass.TopValues![0].Value);
        Assert.DoesNotContain(workclass.TopValues, v => v.Value.StartsWith(' ') || v.Value == "?");

        var label = a.Column("column_15");
        Assert.Equal(ColumnType.Categorical, label.Type);
        Assert.Equal(2, label.Distinct);
        Assert.Equal(["<=50K", ">50K"], label.TopValues!.Select(v => v.Value));
        Assert.Equal(24_720, label.TopValues![0].Count);
    }

    [Fact]
    public async Task Analyze_Diamonds_InfersPriceCaratCutAndProfilesPrice()
    {
        var a = await TestData.AnalyzeFileAsync("diamonds.csv");

        Assert.True(a.Format.HasHeader);
        Assert.Equal(53_940, a.Profile.RowCount);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("price").Type);
        Assert.Equal(ColumnType.Float, a.SchemaOf("carat").Type);
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("cut").Type);
        Assert.Equal(["Ideal", "Premium", "Very Good", "Good", "Fair"], a.Column("cut").TopValues!.Select(v => v.Value));

        var price = a.Column("price");
        Assert.Equal(326, price.Min);
        Assert.Equal(18_823, price.Max);
        Assert.Equal(3_932.8, price.Mean!.Value, 1);
        Assert.Equal(3_989.44, price.Std!.Value, 1);
        Assert.Equal(2_401, price.Quantiles!["p50"], 0);
        Assert.Equal(["p01", "p05", "p25", "p50", "p75", "p95", "p99"], price.Quantiles.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(20, price.Histogram!.Count);
        Assert.Equal(53_940, price.Histogram.Sum(b => b.Count));
        Assert.Equal(11_602, price.Distinct);
        Assert.False(price.DistinctIsEstimate);
    }

    [Fact]
    public async Task Analyze_TitanicWithTarget_KeepsSurvivedIntegerAndFlagsAliveAsLeakage()
    {
        var a = await TestData.AnalyzeFileAsync("titanic.csv", new ReadOptions { Target = "survived" });

        // 0/1-only columns stay Integer (a boolean would hide that it is a numeric label).
        Assert.Equal(ColumnType.Integer, a.SchemaOf("survived").Type);
        Assert.Equal(ColumnType.Float, a.SchemaOf("age").Type);
        Assert.Equal(177, a.Column("age").Missing);
        Assert.Equal(ColumnType.Boolean, a.SchemaOf("adult_male").Type);
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("class").Type);
        Assert.Contains(a.Profile.Warnings, w => w.Code == "target-leakage" && w.Column == "alive");
        Assert.DoesNotContain(a.Profile.Warnings, w => w.Code == "target-leakage" && w.Column != "alive");
        Assert.Contains(a.Profile.Warnings, w => w.Code == "high-missing" && w.Column == "deck");
    }

    [Fact]
    public async Task Analyze_TitanicWithoutTarget_GivesNoLeakageWarning()
    {
        var a = await TestData.AnalyzeFileAsync("titanic.csv");

        Assert.DoesNotContain(a.Profile.Warnings, w => w.Code == "target-leakage");
    }

    [Fact]
    public async Task Analyze_Taxis_InfersPickupAsDateTimeWithFormat()
    {
        var a = await TestData.AnalyzeFileAsync("taxis.csv");

        var pickup = a.SchemaOf("pickup");
        Assert.Equal(ColumnType.DateTime, pickup.Type);
        Assert.Equal("yyyy-MM-dd HH:mm:ss", pickup.DateTimeFormat);
        var profile = a.Column("pickup");
        Assert.StartsWith("2019-02-28", profile.MinDate);
        Assert.StartsWith("2019-03-31", profile.MaxDate);
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("pickup_zone").Type);
        Assert.Equal(ColumnType.Integer, a.SchemaOf("passengers").Type);
    }

    [Fact]
    public async Task Analyze_Mammography_QuotedLabelsAreCategorical()
    {
        var a = await TestData.AnalyzeFileAsync("mammography.csv");

        var label = a.Column("column_7");
        Assert.Equal(ColumnType.Categorical, label.Type);
        Assert.Equal(2, label.Distinct);
        Assert.Equal(["-1", "1"], label.TopValues!.Select(v => v.Value));
        Assert.Equal(260, label.TopValues![1].Count);
    }

    [Fact]
    public async Task Analyze_Penguins_CountsMissingValues()
    {
        var a = await TestData.AnalyzeFileAsync("penguins.csv", new ReadOptions { Target = "species" });

        Assert.Equal(ColumnType.Categorical, a.SchemaOf("species").Type);
        Assert.Equal(3, a.Column("species").Distinct);
        Assert.Equal(2, a.Column("bill_length_mm").Missing);
        Assert.Equal(ColumnType.Float, a.SchemaOf("bill_length_mm").Type);
        Assert.Equal(11, a.Column("sex").Missing);
        Assert.Equal(ColumnType.Categorical, a.SchemaOf("sex").Type);
    }

    [Fact]
    public async Task Analyze_DailyMinTemperatures_ReadsQuotedHeaderAndDates()
    {
        var a = await TestData.AnalyzeFileAsync("daily-min-temperatures.csv");

        Assert.True(a.Format.HasHeader);
        Assert.Equal(["Date", "Temp"], a.Schema.Columns.Select(c => c.Name));
        Assert.Equal(ColumnType.DateTime, a.SchemaOf("Date").Type);
        Assert.Equal("yyyy-MM-dd", a.SchemaOf("Date").DateTimeFormat);
        Assert.Equal("1981-01-01T00:00:00Z", a.Column("Date").MinDate);
        Assert.Equal("1990-12-31T00:00:00Z", a.Column("Date").MaxDate);
        Assert.Equal(ColumnType.Float, a.SchemaOf("Temp").Type);
    }

    [Fact]
    public async Task Analyze_WithOverrides_ForcesTypeAndIgnoresColumn()
    {
        var overrides = new Dictionary<string, ColumnOverride>
        {
            ["pclass"] = new(ColumnType.Categorical),
            ["alive"] = new(Ignored: true),
        };

        var a = await TestData.AnalyzeFileAsync("titanic.csv", new ReadOptions { Overrides = overrides, Target = "survived" });

        var pclass = a.SchemaOf("pclass");
        Assert.Equal(ColumnType.Categorical, pclass.Type);
        Assert.True(pclass.Overridden);
        Assert.Equal(3, a.Column("pclass").TopValues!.Count);
        var alive = a.SchemaOf("alive");
        Assert.True(alive.Ignored);
        Assert.Equal(ColumnType.Boolean, alive.Type);
        Assert.Equal(891, a.Column("alive").Count);
        Assert.Null(a.Column("alive").TopValues);
        Assert.DoesNotContain(a.Profile.Warnings, w => w.Column == "alive");
    }

    [Fact]
    public async Task ReadRows_Titanic_TypesValuesBySchemaAndLeavesOutIgnoredColumns()
    {
        var options = new ReadOptions { Overrides = new Dictionary<string, ColumnOverride> { ["alive"] = new(Ignored: true) } };
        var a = await TestData.AnalyzeFileAsync("titanic.csv", options);
        await using var s = File.OpenRead(TestData.Dataset("titanic.csv"));

        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(891, rows.Count);
        var first = rows[0];
        Assert.Equal(0L, first["survived"]);
        Assert.Equal(22.0, first["age"]);
        Assert.Equal("male", first["sex"]);
        Assert.Equal(true, first["adult_male"]);
        Assert.Null(first["deck"]);
        Assert.False(first.ContainsKey("alive"));
        Assert.Null(rows[5]["age"]);
    }

    [Fact]
    public async Task ReadRows_DailyMinTemperatures_GivesUtcDates()
    {
        var a = await TestData.AnalyzeFileAsync("daily-min-temperatures.csv");
        await using var s = File.OpenRead(TestData.Dataset("daily-min-temperatures.csv"));

        var rows = await TestData.ReadAllAsync(s, a);

        Assert.Equal(3_650, rows.Count);
        Assert.Equal(new DateTimeOffset(1981, 1, 1, 0, 0, 0, TimeSpan.Zero), rows[0]["Date"]);
        Assert.Equal(20.7, rows[0]["Temp"]);
    }
}
