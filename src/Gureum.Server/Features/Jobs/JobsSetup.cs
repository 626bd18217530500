namespace Gureum.Server.Features.Jobs;

public static class JobsSetup
{
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddSingleton<JobSignals>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobHandlers>();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<JobHost>();
        services.AddHostedService(sp => sp.GetRequiredService<JobHost>());
        services.AddSingleton<IJobHandler, WaitJob>();
        return services;
    }
}
