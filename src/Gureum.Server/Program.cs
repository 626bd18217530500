using Gureum.Server.Features.Ai;
using Gureum.Server.Features.Automation;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Keys;
using Gureum.Server.Features.Mlflow;
using Gureum.Server.Features.Monitoring;
using Gureum.Server.Features.Nodes;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Serving;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Training;
using Gureum.Server.Features.Usage;
using Gureum.Server.Features.WebConsole;
using Gureum.Server.Infrastructure.Hosting;
using Gureum.ML.Models;

// The model registry's isolated load check runs this binary as a child process (see ModelCheckLauncher).
if (args is [ModelCheckLauncher.Command, ..])
{
    Environment.ExitCode = await ModelCheckChild.RunAsync(args[1..]);
    return;
}

// Content root beside the binary: appsettings.json is found whatever the working directory.
args = GureumHost.NormalizeArgs(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGureumInfrastructure(args);
builder.Services.AddJobs();
builder.Services.AddNodes();
builder.Services.AddDatasets();
builder.Services.AddTraining();
builder.Services.AddRegistry(builder.Configuration);
builder.Services.AddServing(builder.Configuration);
builder.Services.AddAi(builder.Configuration);
builder.Services.AddUsage(builder.Configuration);
builder.Services.AddMonitoring(builder.Configuration);
builder.Services.AddAutomation(builder.Configuration);
builder.AddGureumConsole();

var app = builder.Build();
app.UseGureumInfrastructure();
app.MapProjects();
app.MapKeys();
app.MapJobs();
app.MapNodes();
app.MapDatasets();
app.MapTraining();
app.MapTracking();
app.MapRegistry();
app.MapMlflow();
app.MapServing();
app.MapOpenInference();
app.MapMonitoring();
app.MapAutomation();
app.MapAi();
app.MapUsage();
app.MapGureumConsole();
await app.RunGureumAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
