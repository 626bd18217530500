using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Gureum.Server.Infrastructure.Db;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Creates <see cref="GureumDb"/> instances for code that lives outside a request (grains, hosted services).</summary>
public sealed class GureumDbFactory(Func<GureumDb> create, DatabaseProvider provider)
{
    public DatabaseProvider Provider { get; } = provider;

    public GureumDb Create() => create();
}

public static class DatabaseSetup
{
    public static IServiceCollection AddGureumDatabase(this IServiceCollection services, GureumOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Database))
        {
            Directory.CreateDirectory(options.FullDataDirectory);
            var connection = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(options.FullDataDirectory, "gureum.db"),
                DefaultTimeout = 30, // also the busy timeout: writers wait for each other instead of failing
                Pooling = true,
            }.ToString();
            services.AddPooledDbContextFactory<SqliteGureumDb>(o => o
                .UseSqlite(connection)
                .AddInterceptors(new SqlitePragmas()));
            services.AddSingleton(sp =>
            {
                var factory = sp.GetRequiredService<IDbContextFactory<SqliteGureumDb>>();
                return new GureumDbFactory(factory.CreateDbContext, DatabaseProvider.Sqlite);
            });
        }
        else
        {
            var connection = new NpgsqlConnectionStringBuilder(options.Database).ToString();
            services.AddPooledDbContextFactory<PostgresGureumDb>(o => o.UseNpgsql(connection));
            services.AddSingleton(sp =>
            {
                var factory = sp.GetRequiredService<IDbContextFactory<PostgresGureumDb>>();
                return new GureumDbFactory(factory.CreateDbContext, DatabaseProvider.Postgres);
            });
        }
        services.AddScoped(sp => sp.GetRequiredService<GureumDbFactory>().Create());
        return services;
    }

    /// <summary>Applies pending migrations (never EnsureCreated) and switches SQLite to WAL.</summary>
    public static async Task MigrateGureumDatabaseAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        var factory = services.GetRequiredService<GureumDbFactory>();
        await using var db = factory.Create();
        await db.Database.MigrateAsync(ct);
        if (factory.Provider == DatabaseProvider.Sqlite)
        {
            // WAL is a property of the file and persists; EF only creates the file, so set it here.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
    }

    /// <summary>
    /// Per-connection SQLite settings. synchronous=FULL: a committed row (a usage event, a job state)
    /// survives power loss, not only a process crash. busy_timeout: a writer that finds the write lock taken waits in
    /// SQLite's own short steps; without it Microsoft.Data.Sqlite retries after a fixed 150 ms sleep, which showed as
    /// 150 ms stalls whenever two background writers met (measured in bench/metering).
    /// </summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        private static void Apply(DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
            command.ExecuteNonQuery();
        }
    }
}
