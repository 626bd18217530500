namespace Gureum.WebConsole.Tests;

/// <summary>The two small decisions of the console's hosting that no browser test reaches on every branch.</summary>
public sealed class HostingRulesTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://0.0.0.0:5000", "http://127.0.0.1:5000/")]
    [InlineData("http://[::]:5000", "http://[::1]:5000/")]
    [InlineData("http://+:80", "http://127.0.0.1/")]
    [InlineData("http://*:8081", "http://127.0.0.1:8081/")]
    public void Loopback_TurnsAListeningAddressIntoOneThisProcessCanCall(string listening, string expected) =>
        Assert.Equal(expected, ConsoleApi.Loopback([listening])!.ToString());

    [Fact]
    public void Loopback_PrefersPlainHttp_AndSkipsUnixSockets()
    {
        Assert.Equal("http://127.0.0.1:8080/", ConsoleApi.Loopback(["https://127.0.0.1:8443", "http://unix:/run/g.sock", "http://127.0.0.1:8080"])!.ToString());
        Assert.Null(ConsoleApi.Loopback(["http://unix:/run/g.sock"]));
    }

    [Theory]
    [InlineData("/projects/demo/datasets", "/projects/demo/datasets")]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("", "/")]
    [InlineData(null, "/")]
    public void SignIn_ReturnsOnlyToAPathOfThisSite(string? returnUrl, string expected) =>
        Assert.Equal(expected, ConsoleHosting.LocalPath(returnUrl));
}
