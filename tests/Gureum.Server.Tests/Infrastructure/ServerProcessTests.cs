namespace Gureum.Server.Tests.Infrastructure;

/// <summary>Tests that start real server processes on one throwaway data directory and database (PostgreSQL lane).</summary>
public abstract class ServerProcessTests : IAsyncLifetime
{
    protected string DataDirectory { get; } = Directory.CreateTempSubdirectory("gureum-server-").FullName;
    protected string? Database { get; } = TestDatabase.Create();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        TestDatabase.Drop(Database);
        Directory.Delete(DataDirectory, recursive: true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
