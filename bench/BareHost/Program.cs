// The limit: the cheapest endpoint ASP.NET Core can serve on this machine, with the same Kestrel
// defaults the Gureum server gets. No logging, no auth, no database: anything above it is overhead.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);

var app = builder.Build();
app.MapGet("/ping", () => "pong");
app.Run();
