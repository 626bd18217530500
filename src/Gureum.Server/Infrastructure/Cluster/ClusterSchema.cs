using System.Reflection;
using Npgsql;

namespace Gureum.Server.Infrastructure.Cluster;

/// <summary>
/// Applies Orleans' PostgreSQL membership schema (third-party/orleans-adonet-postgresql, embedded) once per database:
/// under an advisory lock, so nodes starting together on a fresh database do not race, and only when its tables are
/// missing (the scripts are not idempotent).
/// </summary>
public static class ClusterSchema
{
    private const long LockKey = 0x6775_7265_756d; // "gureum"

    public static async Task EnsureAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({LockKey})", connection))
        {
            await take.ExecuteNonQueryAsync(ct);
        }
        try
        {
            await using var exists = new NpgsqlCommand("SELECT to_regclass('orleansquery') IS NOT NULL", connection);
            if ((bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                return;
            }
            await using var transaction = await connection.BeginTransactionAsync(ct);
            foreach (var script in new[] { "orleans-main.sql", "orleans-clustering.sql" })
            {
                await using var command = new NpgsqlCommand(Read(script), connection, transaction);
                await command.ExecuteNonQueryAsync(ct);
            }
            await transaction.CommitAsync(ct);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static string Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded Orleans script {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
