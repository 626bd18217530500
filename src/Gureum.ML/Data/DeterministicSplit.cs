namespace Gureum.ML.Data;

/// <summary>
/// Train/test assignment that depends only on (seed, row index): the same version, ratio and seed always give the
/// same split, on any machine, without storing it. Stratified splits keep each class's share in both parts by taking,
/// within each class, the rows with the smallest hashes as the test part.
/// </summary>
public static class DeterministicSplit
{
    /// <summary>A uniform number in [0, 1) for a row (SplitMix64 of seed and index).</summary>
    public static double Draw(int seed, long rowIndex)
    {
        var z = unchecked((ulong)rowIndex * 0x9E3779B97F4A7C15UL + (ulong)(uint)seed * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Unstratified: a row is in the test part when its draw is below the ratio.</summary>
    public static bool IsTest(int seed, long rowIndex, double testRatio) => Draw(seed, rowIndex) < testRatio;

    /// <summary>Stratified: the test row indices, given each row's class (null counts as its own class).</summary>
    public static HashSet<long> StratifiedTestRows(IReadOnlyList<string?> classes, int seed, double testRatio)
    {
        var test = new HashSet<long>();
        foreach (var group in Enumerable.Range(0, classes.Count).GroupBy(i => classes[i] ?? "\0null"))
        {
            var rows = group.OrderBy(i => Draw(seed, i)).ToList();
            var take = (int)Math.Round(rows.Count * testRatio, MidpointRounding.AwayFromZero);
            foreach (var i in rows.Take(take))
            {
                test.Add(i);
            }
        }
        return test;
    }
}
