namespace Gureum.ML.Tests;

public sealed class DatasetReaderTests
{
    [Fact]
    public void Placeholder_UntilTheReaderLands() => Assert.True(typeof(Gureum.ML.Data.DatasetReader).IsAbstract);
}
