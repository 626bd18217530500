using System.Diagnostics;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Scalar.AspNetCore;

namespace Gureum.Server.Infrastructure.Hosting;

/// <summary>The small shared infrastructure every capability stands on: configuration, storage, auth, errors, docs, health, metrics, the silo.</summary>
public static class GureumHost
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static WebApplicationBuilder AddGureumInfrastructure(this WebApplicationBuilder builder, string[] args)
    {
        MapFriendlySettings(builder, args);
        var options = builder.Configuration.GetSection(GureumOptions.Section).Get<GureumOptions>() ?? new GureumOptions();
        Directory.CreateDirectory(options.FullDataDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(options.FullDataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var services = builder.Services;
        services.AddSingleton<StartupTasks>();
        services.AddHostedService(sp => sp.GetRequiredService<StartupTasks>());
        services.Configure<GureumOptions>(builder.Configuration.GetSection(GureumOptions.Section));
        services.AddSingleton(TimeProvider.System);
        services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Logging.ClearProviders();
        if (builder.Environment.IsDevelopment())
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }
        else
        {
            builder.Logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        }

        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.AddGureumProblems();
        services.AddGureumDatabase(options);
        services.AddSingleton<IArtifactStore>(new LocalArtifactStore(options.FullArtifactsDirectory));
        services.AddGureumAuth();
        services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeySecurityScheme>());
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<ArtifactStoreHealthCheck>("artifacts", tags: ["ready"])
            .AddCheck<NotStoppingHealthCheck>("accepting", tags: ["ready"]);
        services.AddOpenTelemetry().ConfigureResource(r => r.AddService("gureum")).WithMetrics(m => m
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime", "Microsoft.Orleans", Features.Serving.ServingMetrics.MeterName)
            .AddPrometheusExporter());

        var cluster = builder.Configuration.GetSection(Cluster.ClusterOptions.Section).Get<Cluster.ClusterOptions>() ?? new Cluster.ClusterOptions();
        services.Configure<Cluster.ClusterOptions>(builder.Configuration.GetSection(Cluster.ClusterOptions.Section));
        services.Configure<Cluster.NodeOptions>(builder.Configuration.GetSection(Cluster.NodeOptions.Section));
        if (cluster.Enabled && string.IsNullOrWhiteSpace(options.Database))
        {
            throw new InvalidOperationException("Cluster mode keeps membership and metadata in PostgreSQL: start every node with --database \"Host=…;Username=…\" (the same for all) and --artifacts on a shared directory.");
        }
        builder.UseOrleans(silo =>
        {
            if (cluster.Enabled)
            {
                // Membership in the metadata database; a silo that misses a few probes is declared dead within seconds.
                silo.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = options.Database; })
                    .Configure<Orleans.Configuration.ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; })
                    .ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false)
                    .Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
                    {
                        o.ProbeTimeout = cluster.ProbeTimeout;
                        o.NumMissedProbesLimit = 2;
                        o.NumVotesForDeathDeclaration = 1;
                        o.DefunctSiloExpiration = TimeSpan.FromHours(1);
                    })
                    .Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(15));
            }
            else
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
            }
            var node = builder.Configuration.GetSection(Cluster.NodeOptions.Section).Get<Cluster.NodeOptions>() ?? new Cluster.NodeOptions();
            Orleans.Runtime.MembershipService.SiloMetadata.SiloMetadataHostingExtensions.UseSiloMetadata(silo, Features.Nodes.NodeCapabilities.Metadata(node.Labels))
                .AddPlacementDirector<Features.Nodes.JobPlacementStrategy, Features.Nodes.JobPlacementDirector>()
                .Configure<Orleans.Configuration.GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(10));
        });
        return builder;
    }

    public static WebApplication UseGureumInfrastructure(this WebApplication app)
    {
        // Request ids unique across restarts and nodes (Kestrel's restart per process): usage is counted once per id.
        app.Use((http, next) =>
        {
            http.TraceIdentifier = Ids.New();
            return next(http);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RejectSerializedObjects>();
        app.UseIdempotencyBuffering();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference("/docs", o => o.WithTitle("Gureum API")).AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = HealthReport.WriteAsync,
        }).AllowAnonymous();
        // Metrics name routes and volumes; they need an admin key (Prometheus: authorization.credentials).
        app.MapPrometheusScrapingEndpoint("/metrics").RequireScope(Scopes.Admin);
        return app;
    }

    /// <summary>Serves until SIGTERM; once started, prints where to go (and the first admin key, once).</summary>
    public static async Task RunGureumAsync(this WebApplication app)
    {
        var startedAt = Stopwatch.GetTimestamp();
        var options = app.Services.GetRequiredService<IOptions<GureumOptions>>().Value;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var startup = app.Services.GetRequiredService<StartupTasks>();
            var bootstrapKey = startup.CreatedBootstrapKey;
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? DefaultUrl;
            // Console, not the logger: the key must never reach a log shipper.
            Console.WriteLine($"Gureum is listening on {address} (ready in {Stopwatch.GetElapsedTime(startedAt).TotalSeconds:0.0} s)");
            Console.WriteLine($"  API docs:  {address}/docs");
            Console.WriteLine($"  data:      {options.FullDataDirectory}");
            if (bootstrapKey is not null)
            {
                Console.WriteLine(startup.BootstrapKeyWasGiven ? "  admin key: the value of GUREUM_BOOTSTRAP_KEY" : $"  admin key: {bootstrapKey}");
                Console.WriteLine($"  (shown once; also saved to {Path.Combine(options.FullDataDirectory, BootstrapKey.FileName)}, mode 0600)");
            }
        });
        try
        {
            await app.RunAsync();
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            Console.Error.WriteLine($"Gureum could not start: {e.Message} Stop the other process or choose another address with --urls.");
            Environment.ExitCode = 2;
        }
    }

    /// <summary><c>--data</c>, <c>GUREUM_DATA</c>, <c>GUREUM_DATABASE</c> and <c>GUREUM_BOOTSTRAP_KEY</c> as documented in the README.</summary>
    /// <summary>
    /// Flags without the configuration syntax: <c>--cluster</c> alone, and <c>--label KEY=VALUE</c> (repeatable), become
    /// <c>Gureum:Cluster:Enabled=true</c> and <c>Gureum:Node:Labels:KEY=VALUE</c>.
    /// </summary>
    public static string[] NormalizeArgs(string[] args)
    {
        var result = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--cluster" && (i + 1 == args.Length || args[i + 1].StartsWith('-') || !bool.TryParse(args[i + 1], out _)))
            {
                result.Add("--Gureum:Cluster:Enabled=true");
            }
            else if (args[i] == "--label" && i + 1 < args.Length && args[i + 1].IndexOf('=') is > 0 and var eq)
            {
                result.Add($"--Gureum:Node:Labels:{args[i + 1][..eq]}={args[i + 1][(eq + 1)..]}");
                i++;
            }
            else
            {
                result.Add(args[i]);
            }
        }
        return [.. result];
    }

    private static void MapFriendlySettings(WebApplicationBuilder builder, string[] args)
    {
        var overrides = new Dictionary<string, string?>();
        void Map(string env, string key)
        {
            var value = Environment.GetEnvironmentVariable(env);
            if (!string.IsNullOrEmpty(value))
            {
                overrides[key] = value;
            }
        }
        Map("GUREUM_DATA", "Gureum:DataDirectory");
        Map("GUREUM_DATABASE", "Gureum:Database");
        Map("GUREUM_BOOTSTRAP_KEY", "Gureum:BootstrapKey");
        builder.Configuration.AddInMemoryCollection(overrides);
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--data"] = "Gureum:DataDirectory",
            ["--database"] = "Gureum:Database",
            ["--silo-port"] = "Gureum:SiloPort",
            ["--gateway-port"] = "Gureum:GatewayPort",
            ["--artifacts"] = "Gureum:ArtifactsDirectory",
            ["--node-name"] = "Gureum:NodeName",
            ["--cluster"] = "Gureum:Cluster:Enabled",
        });
    }
}

internal sealed class DatabaseHealthCheck(GureumDbFactory factory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        await using var db = factory.Create();
        return await db.Database.CanConnectAsync(ct)
            ? HealthCheckResult.Healthy($"{factory.Provider} reachable")
            : HealthCheckResult.Unhealthy($"{factory.Provider} unreachable");
    }
}

internal sealed class ArtifactStoreHealthCheck(IArtifactStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await store.CheckWritableAsync(ct);
            return HealthCheckResult.Healthy("artifact store writable");
        }
        catch (IOException e)
        {
            return HealthCheckResult.Unhealthy("artifact store not writable: " + e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return HealthCheckResult.Unhealthy("artifact store not writable: " + e.Message);
        }
    }
}

/// <summary>Readiness fails as soon as shutdown begins, so a load balancer stops sending before in-flight work drains.</summary>
internal sealed class NotStoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy("accepting requests"));
}
