using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>A start-up time a user relies on (a restarted node is back quickly), measured alone: this collection
/// runs after the parallel ones, so the time is the server's and not the other tests' load on the machine.</summary>
[CollectionDefinition(nameof(WarmStartTests), DisableParallelization = true)]
public sealed class AloneCollection;

[Collection(nameof(WarmStartTests))]
public sealed class WarmStartTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("gureum-warm-start-").FullName;
    private readonly string? _database = TestDatabase.Create();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        TestDatabase.Drop(_database);
        Directory.Delete(_data, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task WarmStart_IsReadyWithinTenSeconds()
    {
        await using (await ServerProcess.StartAsync(_data, _database))
        {
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var warm = await ServerProcess.StartAsync(_data, _database);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"ready after {started.Elapsed}");
    }
}
