using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Keys;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure.Hosting;

// Content root beside the binary: appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGureumInfrastructure(args);
builder.Services.AddJobs();
builder.Services.AddDatasets();
builder.Services.AddTraining();

var app = builder.Build();
app.UseGureumInfrastructure();
app.MapProjects();
app.MapKeys();
app.MapJobs();
app.MapDatasets();
app.MapTraining();
await app.RunGureumAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
