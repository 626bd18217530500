using System.Globalization;
using Gureum.ML.Data.Internal;

namespace Gureum.ML.Tests;

public sealed class DistinctCounterTests
{
    [Fact]
    public void Count_IsExactUpToTheBound()
    {
        var counter = new DistinctCounter();
        for (var round = 0; round < 2; round++)
            for (var i = 0; i < DistinctCounter.DefaultExactLimit - 2; i++)
                counter.Add(i.ToString(CultureInfo.InvariantCulture));
        counter.Add("a");
        counter.Add("a ");
        Assert.False(counter.IsEstimate);
        Assert.Equal(DistinctCounter.DefaultExactLimit, counter.Count);
    }

    [Fact]
    public void Count_IsEstimatedWithinAFewPercentAboveTheBound()
    {
        var counter = new DistinctCounter();
        const int n = 1_000_000;
        for (var i = 0; i < n; i++) counter.Add($"user-{i}@example.com");
        for (var i = 0; i < n; i += 3) counter.Add($"user-{i}@example.com");
        Assert.True(counter.IsEstimate);
        Assert.InRange(counter.Count, n * 0.95, n * 1.05);
    }

    [Fact]
    public void Hash_SeparatesValuesThatDifferInOneCharacterOrTheLength()
    {
        var hashes = new HashSet<ulong>();
        string[] values = ["", "a", "a\0", "ab", "abcd", "abce", "abcdabcd", "abcdabce", "abcdabcda", "bbcdabcd"];
        foreach (var v in values) Assert.True(hashes.Add(DistinctCounter.Hash(v)), v);
    }
}
