using Gureum.ML.Data;

namespace Gureum.ML.Tests;

public sealed class DeterministicSplitTests
{
    [Fact]
    public void IsTest_IsStableForASeed_AndDiffersAcrossSeeds()
    {
        var a = Enumerable.Range(0, 10_000).Select(i => DeterministicSplit.IsTest(42, i, 0.2)).ToArray();
        var again = Enumerable.Range(0, 10_000).Select(i => DeterministicSplit.IsTest(42, i, 0.2)).ToArray();
        var other = Enumerable.Range(0, 10_000).Select(i => DeterministicSplit.IsTest(7, i, 0.2)).ToArray();
        Assert.Equal(a, again);
        Assert.NotEqual(a, other);
        Assert.InRange(a.Count(t => t), 1_850, 2_150);
    }

    [Fact]
    public void StratifiedTestRows_KeepEachClassShare()
    {
        var classes = Enumerable.Range(0, 1_000).Select(i => i % 50 == 0 ? "rare" : "common").ToArray();
        var test = DeterministicSplit.StratifiedTestRows(classes, 1, 0.2);
        Assert.Equal(4, test.Count(i => classes[i] == "rare"));
        Assert.Equal(196, test.Count(i => classes[i] == "common"));
        Assert.Equal(test, DeterministicSplit.StratifiedTestRows(classes, 1, 0.2));
    }
}
