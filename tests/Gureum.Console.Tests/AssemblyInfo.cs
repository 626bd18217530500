// One server and one browser for the whole assembly: on two cores, parallel browser tests only double every time.
[assembly: AssemblyFixture(typeof(Gureum.WebConsole.Tests.Infrastructure.ConsoleApp))]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
