using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>A start-up time a user relies on (a restarted node is back quickly), measured alone: this collection
/// runs after the parallel ones, so the time is the server's and not the other tests' load on the machine.</summary>
[CollectionDefinition(nameof(WarmStartTests), DisableParallelization = true)]
public sealed class AloneCollection;

[Collection(nameof(WarmStartTests))]
public sealed class WarmStartTests : ServerProcessTests
{
    [Fact]
    public async Task WarmStart_IsReadyWithinTenSeconds()
    {
        await using (await ServerProcess.StartAsync(DataDirectory, Database))
        {
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var warm = await ServerProcess.StartAsync(DataDirectory, Database);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"ready after {started.Elapsed}");
    }
}
