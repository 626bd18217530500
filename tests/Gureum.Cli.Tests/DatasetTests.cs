using System.Net;
using System.Text;
using System.Text.Json;
using Gureum.Client;
using Xunit;

namespace Gureum.Cli.Tests;

public sealed class DatasetTests(GureumServer server)
{
    /// <summary>The shared test data: <c>&lt;repository root&gt;/../shared/testdata/datasets/</c>.</summary>
    private static string TestData(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gureum.slnx")))
        {
            directory = directory.Parent;
        }
        Assert.True(directory is not null, $"No Gureum.slnx above {AppContext.BaseDirectory}.");
        var path = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "testdata", "datasets", name));
        Assert.True(File.Exists(path), $"Test data {path} is missing.");
        return path;
    }

    private async Task<string> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        return name;
    }

    private static string TempFile(string extension, string content)
    {
        var path = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("gureum-cli-data") + extension);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    [Fact]
    public async Task Upload_WithCreate_ThenVersionsProfileAndPreview()
    {
        var project = await CreateProjectAsync();
        var iris = TestData("iris.csv");

        var uploaded = await server.RunAsync("datasets", "upload", project, "iris", iris, "--create", "--target", "species");

        Assert.True(uploaded.ExitCode == 0, uploaded.ToString());
        Assert.Contains("Created dataset iris", uploaded.Out);
        Assert.Contains("100%", uploaded.Out); // redirected output: plain progress lines
        Assert.Contains("Created version 1", uploaded.Out);
        Assert.Contains("150 rows", uploaded.Out);
        foreach (var column in new[] { "sepal_length", "sepal_width", "petal_length", "petal_width", "species" })
        {
            Assert.Contains(column, uploaded.Out);
        }

        var versions = await server.RunAsync("datasets", "versions", project, "iris");
        Assert.True(versions.ExitCode == 0, versions.ToString());
        Assert.Contains("v1", versions.Out);

        var profile = await server.RunAsync("datasets", "profile", project, "iris");
        Assert.True(profile.ExitCode == 0, profile.ToString());
        Assert.Contains("150 rows", profile.Out);
        Assert.Contains("sepal_length", profile.Out);
        Assert.Contains("species", profile.Out);
        Assert.Contains("setosa", profile.Out); // top values of the categorical column
        Assert.Contains("mean", profile.Out);

        var preview = await server.RunAsync("--json", "datasets", "preview", project, "iris", "--rows", "3");
        Assert.True(preview.ExitCode == 0, preview.ToString());
        using var body = JsonDocument.Parse(preview.Out);
        Assert.Equal(3, body.RootElement.GetProperty("rows").GetArrayLength());
        Assert.Equal(5, body.RootElement.GetProperty("columns").GetArrayLength());
        Assert.Equal("setosa", body.RootElement.GetProperty("rows")[0].GetProperty("species").GetString());

        var table = await server.RunAsync("datasets", "preview", project, "iris", "--version", "1", "--rows", "2");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("setosa", table.Out);

        var fetched = await server.RunAsync("--json", "datasets", "get", project, "iris");
        using var dataset = JsonDocument.Parse(fetched.Out);
        Assert.Equal(1, dataset.RootElement.GetProperty("latestVersion").GetInt32());
    }

    [Fact]
    public async Task Upload_OfARaggedCsv_ExitsSixNamingTheLine()
    {
        var project = await CreateProjectAsync();
        var file = TempFile(".csv", "a,b\n1,2\n3\n4,5\n");
        try
        {
            var run = await server.RunAsync("datasets", "upload", project, "ragged", file, "--create");

            Assert.Equal(6, run.ExitCode);
            Assert.Contains("line 3", run.Err);
            Assert.Contains("--on-error skip", run.Err);
            Assert.DoesNotContain("   at ", run.Err);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Upload_OfAMissingFile_ExitsTwoAndCreatesNothing()
    {
        var project = await CreateProjectAsync();
        var missing = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("no-such-file") + ".csv");

        var run = await server.RunAsync("datasets", "upload", project, "never", missing, "--create");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Err);
        Assert.Contains(Path.GetFileName(missing), run.Err);
        var gone = await server.RunAsync("datasets", "get", project, "never");
        Assert.Equal(4, gone.ExitCode);
    }

    [Fact]
    public async Task Upload_WithAnUnknownOnErrorValue_ExitsTwo()
    {
        var run = await server.RunAsync("datasets", "upload", "p", "d", "file.csv", "--on-error", "ignore");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("ignore", run.Err);
    }

    [Fact]
    public async Task Datasets_CreateListGetDelete_RoundTrips()
    {
        var project = await CreateProjectAsync();

        var created = await server.RunAsync("--json", "datasets", "create", project, "sales", "--description", "monthly sales");
        Assert.True(created.ExitCode == 0, created.ToString());
        using var body = JsonDocument.Parse(created.Out);
        var id = body.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("latestVersion").ValueKind);

        var listed = await server.RunAsync("datasets", "list", project);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("sales", listed.Out);
        Assert.Contains(id, listed.Out);

        var fetched = await server.RunAsync("datasets", "get", project, id);
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        Assert.Contains("monthly sales", fetched.Out);

        var again = await server.RunAsync("datasets", "create", project, "sales");
        Assert.Equal(5, again.ExitCode);

        var noVersion = await server.RunAsync("datasets", "profile", project, "sales");
        Assert.Equal(4, noVersion.ExitCode);
        Assert.Contains("has no version yet", noVersion.Err);

        var deleted = await server.RunAsync("datasets", "delete", project, "sales");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        var gone = await server.RunAsync("datasets", "get", project, "sales");
        Assert.Equal(4, gone.ExitCode);
    }

    [Fact]
    public async Task Client_Upload_ReportsTheWholeFileSizeAtTheEnd()
    {
        var iris = TestData("iris.csv");
        using var client = new GureumClient(server.Http, server.AdminKey);
        var project = await client.CreateProjectAsync(GureumServer.UniqueName("p"), ct: TestContext.Current.CancellationToken);
        await client.CreateDatasetAsync(project.Name, "iris", ct: TestContext.Current.CancellationToken);
        var reports = new List<long>();

        var version = await client.UploadDatasetFileAsync(project.Name, "iris", iris, new DatasetUploadOptions(OnError: "reject"),
            new Recorder(reports), TestContext.Current.CancellationToken);

        Assert.Equal(new FileInfo(iris).Length, reports[^1]);
        Assert.Equal(reports.Order(), reports);
        Assert.Equal(1, version.Number);
        Assert.Equal(150, version.RowCount);
        Assert.Equal(new FileInfo(iris).Length, version.SizeBytes);
        Assert.Equal("csv", version.Format.Format);
        Assert.Equal(5, version.Schema.Columns.Count);
    }

    [Fact]
    public async Task Client_Upload_StreamsInChunksWithLengthTypeAndOptions()
    {
        // A stub server: checks what the client sends, independently of the real server's reader.
        var path = TempFile(".tsv", string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i}\t{i * 2}\n")));
        try
        {
            var handler = new RecordingHandler();
            using var http = new HttpClient(handler) { BaseAddress = new Uri("http://gureum.test/") };
            using var client = new GureumClient(http, "gur_test");
            var reports = new List<long>();

            var version = await client.UploadDatasetFileAsync("p", "d s", path,
                new DatasetUploadOptions(Format: "tsv", Delimiter: "tab", Header: false, OnError: "skip", Target: "column_2"),
                new Recorder(reports), TestContext.Current.CancellationToken);

            var length = new FileInfo(path).Length;
            Assert.Equal(3, version.Number);
            Assert.Equal("/v1/projects/p/datasets/d%20s/versions?format=tsv&delimiter=tab&header=false&onError=skip&target=column_2",
                handler.Uri!.PathAndQuery);
            Assert.Equal("text/tab-separated-values", handler.ContentType);
            Assert.Equal(length, handler.ContentLength);
            Assert.Equal(length, handler.Received);
            Assert.Equal(length, reports[^1]);
            Assert.True(reports.Count > 3, $"{reports.Count} progress reports for {length} bytes: not sent in chunks.");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ContentTypeFor_FollowsTheExtension()
    {
        Assert.Equal("text/csv", GureumClient.ContentTypeFor("a/b.CSV"));
        Assert.Equal("text/tab-separated-values", GureumClient.ContentTypeFor("b.tsv"));
        Assert.Equal("application/x-ndjson", GureumClient.ContentTypeFor("b.jsonl"));
        Assert.Equal("application/x-ndjson", GureumClient.ContentTypeFor("b.ndjson"));
        Assert.Equal("application/vnd.apache.parquet", GureumClient.ContentTypeFor("b.parquet"));
        Assert.Equal("application/gzip", GureumClient.ContentTypeFor("b.csv.gz"));
        Assert.Equal("application/octet-stream", GureumClient.ContentTypeFor("b.txt"));
    }

    private sealed class Recorder(List<long> reports) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public Uri? Uri { get; private set; }
        public string? ContentType { get; private set; }
        public long? ContentLength { get; private set; }
        public long Received { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Uri = request.RequestUri;
            ContentType = request.Content?.Headers.ContentType?.MediaType;
            ContentLength = request.Content?.Headers.ContentLength;
            // Read the body the way a transport does: serialized into a stream, chunk by chunk.
            using var sink = new CountingStream();
            await request.Content!.CopyToAsync(sink, cancellationToken);
            Received = sink.Length;
            const string version = """
                {"id":"v","datasetId":"d","number":3,"sha256":"00","sizeBytes":1,"rowCount":1,"skippedRows":0,"source":"upload","derivedFrom":null,
                 "format":{"format":"csv","gzip":false,"delimiter":"\t","hasHeader":false,"encoding":"utf-8"},
                 "schema":{"columns":[{"name":"column_1","type":"integer","ignored":false,"overridden":false,"dateTimeFormat":null}]},
                 "errors":[],"createdAt":"2030-01-01T00:00:00Z"}
                """;
            return new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent(version, Encoding.UTF8, "application/json") };
        }
    }

    /// <summary>Counts what is written and keeps none of it.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
