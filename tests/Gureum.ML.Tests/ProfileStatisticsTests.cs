using System.Globalization;
using System.Text;
using Gureum.ML.Data;
using Gureum.ML.Data.Internal;

namespace Gureum.ML.Tests;

/// <summary>The numbers a profile reports: quantiles by selection, merged moments, the reservoir and the sketch.</summary>
public sealed class ProfileStatisticsTests
{
    [Fact]
    public void Select_PutsEveryAskedRankWhereASortWouldPutIt()
    {
        var random = new Random(20261208);
        for (var trial = 0; trial < 300; trial++)
        {
            // Few distinct values (as real columns have) as well as many.
            var n = random.Next(1, 3000);
            var range = random.Next(1, 1_000_000);
            var values = Enumerable.Range(0, n).Select(_ => (double)random.Next(range)).ToArray();
            var ranks = Enumerable.Range(0, random.Next(1, 15)).Select(_ => random.Next(n)).Distinct().Order().ToArray();
            var sorted = values.Order().ToArray();

            NumericStats.Select(values, ranks);

            foreach (var r in ranks) Assert.Equal(sorted[r], values[r]);
            Assert.Equal(sorted, values.Order().ToArray());
        }
    }

    [Fact]
    public void Moments_MergedBatchByBatch_MatchTwoPassOverAllValues()
    {
        // A large offset and a small spread: where a sum of squares would lose every digit of the variance.
        var values = Enumerable.Range(0, 50_000).Select(i => 1e9 + (i * 7919 % 1000) / 100.0).ToArray();
        var stats = new NumericStats();
        for (var i = 0; i < values.Length; i += 4096) stats.AddRange(values.AsSpan(i, Math.Min(4096, values.Length - i)));
        stats.Add(1e9);

        var all = values.Append(1e9).ToArray();
        var mean = all.Average();
        var std = Math.Sqrt(all.Sum(x => (x - mean) * (x - mean)) / (all.Length - 1));
        Assert.Equal(all.Length, stats.N);
        Assert.Equal(mean, stats.Mean, 1e-6);
        Assert.Equal(std, stats.Std, 1e-9);
        Assert.Equal(all.Min(), stats.Min);
        Assert.Equal(all.Max(), stats.Max);
    }

    [Fact]
    public void Reservoir_OfAMillionValues_GivesQuantilesAndAHistogramOfTheWholeColumn()
    {
        const int n = 1_000_000;
        var stats = new NumericStats();
        var batch = new double[4096];
        for (var i = 0; i < n; i += batch.Length)
        {
            var count = Math.Min(batch.Length, n - i);
            // Ascending: a reservoir that kept the first or the last values would be far off.
            for (var j = 0; j < count; j++) batch[j] = i + j;
            stats.AddRange(batch.AsSpan(0, count));
        }

        var (quantiles, histogram) = stats.Distribution();
        Assert.InRange(quantiles["p50"], 0.49 * n, 0.51 * n);
        Assert.InRange(quantiles["p01"], 0.005 * n, 0.015 * n);
        Assert.InRange(quantiles["p99"], 0.985 * n, 0.995 * n);
        Assert.Equal(20, histogram.Count);
        Assert.All(histogram, bin => Assert.InRange(bin.Count, n / 20 * 0.9, n / 20 * 1.1));
        Assert.InRange(histogram.Sum(b => b.Count), n - 20, n + 20);
    }

    [Fact]
    public void Sketch_KeepsTheKSmallestDistinctHashes_HoweverTheyArrive()
    {
        var counter = new DistinctCounter();
        var hashes = Enumerable.Range(0, 600_000).Select(i => DistinctCounter.HashNumber(i % 400_000)).ToArray();
        counter.AddHashes(hashes);

        // The K-minimum-values estimate from the exact K-th smallest distinct hash.
        var kth = hashes.Distinct().Order().ElementAt(DistinctCounter.K - 1);
        Assert.True(counter.IsEstimate);
        Assert.Equal((long)((DistinctCounter.K - 1) / (kth / (double)ulong.MaxValue)), counter.Count);
        Assert.InRange(counter.Count, 400_000 * 0.95, 400_000 * 1.05);
    }

    [Fact]
    public async Task Distinct_CountsNumbersAndDatesByValue_TextByItsCharacters()
    {
        var csv = new StringBuilder("amount,when,code\n");
        string[] amounts = ["1.5", "1.50", "01.5", "2", "2.0", "-0", "0"];
        string[] codes = ["a1", "A1", "a1 "];
        for (var i = 0; i < 60; i++)
        {
            // The last two: the first instant, written with its offset.
            var when = i >= 58 ? "2024-03-01T12:00:00+02:00" : i % 2 == 0 ? "2024-03-01T10:00:00" : "2024-03-02T10:00:00";
            csv.Append(CultureInfo.InvariantCulture, $"{amounts[i % amounts.Length]},{when},{codes[i % codes.Length]}\n");
        }

        var a = await TestData.AnalyzeTextAsync(csv.ToString());

        Assert.Equal(ColumnType.Float, a.Column("amount").Type);
        Assert.Equal(3, a.Column("amount").Distinct); // 1.5, 2, 0
        Assert.Equal(ColumnType.DateTime, a.Column("when").Type);
        Assert.Equal(2, a.Column("when").Distinct);
        Assert.Equal(2, a.Column("code").Distinct); // "a1 " is trimmed to "a1"; "A1" differs
    }

    [Fact]
    public async Task WarmUpFile_HasAColumnOfEveryTypeTheReaderInfers()
    {
        var a = await TestData.AnalyzeBytesAsync(DatasetReader.WarmUpCsv());

        Assert.Equal(
            [ColumnType.Id, ColumnType.Float, ColumnType.Integer, ColumnType.Categorical, ColumnType.Text, ColumnType.DateTime, ColumnType.DateTime, ColumnType.Boolean, ColumnType.Float],
            a.Schema.Columns.Select(c => c.Type));
        Assert.True(a.Profile.RowCount > 2 * Profiler.SampleRows, "past the sample, so the batched loops run");
        Assert.True(a.Column("score").Missing > 0);
        await DatasetReader.WarmUpAsync(TestContext.Current.CancellationToken);
    }
}
