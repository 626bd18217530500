using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>A server with tight dataset limits, to hit them cheaply.</summary>
public sealed class TightDatasetLimitsApp() : GureumApp(new Dictionary<string, string?>
{
    ["Gureum:DatasetLimits:MaxColumns"] = "3",
    ["Gureum:DatasetLimits:MaxLineBytes"] = "1000",
    ["Gureum:MaxUploadBytes"] = "5000",
});

public sealed class DatasetLimitsTests(TightDatasetLimitsApp app) : IClassFixture<TightDatasetLimitsApp>
{
    private async Task<HttpResponseMessage> UploadAsync(string csv)
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "d" })).Dispose();
        using var content = new StringContent(csv, Encoding.UTF8, "text/csv");
        return await app.Admin().PostAsync($"/v1/projects/{project}/datasets/d/versions", content);
    }

    [Fact]
    public async Task TooManyColumns_Answers422NamingTheLimit()
    {
        using var response = await UploadAsync("a,b,c,d\n1,2,3,4\n");
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
        Assert.Contains("3", body.GetProperty("detail").GetString() + body.GetProperty("errors").ToString());
    }

    [Fact]
    public async Task OverlongLine_Answers422()
    {
        using var response = await UploadAsync("a,b\n" + new string('x', 2000) + ",1\n");
        await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
    }

    [Fact]
    public async Task FileOverTheUploadLimit_Answers413AndLeavesNoBlob()
    {
        using var response = await UploadAsync("a,b\n" + string.Concat(Enumerable.Repeat("1,2\n", 3000)));
        await Problems.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(app.DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(app.DataDirectory, "artifacts", "tmp")));
    }
}

public sealed class DatasetsTests(GureumApp app) : IClassFixture<GureumApp>
{
    private static readonly string TestData = Repository.Datasets;

    private async Task<(string Project, string Dataset)> CreateDatasetAsync(string name = "data")
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (project, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    private async Task<HttpResponseMessage> UploadAsync(string project, string dataset, byte[] bytes, string contentType = "text/csv", string query = "")
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await app.Admin().PostAsync($"/v1/projects/{project}/datasets/{dataset}/versions{query}", content);
    }

    private static JsonElement Column(JsonElement version, string name) =>
        version.GetProperty("schema").GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Upload_Titanic_CreatesVersionOneWithSchemaAndProfile()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(TestData, "titanic.csv"));
        using var response = await UploadAsync(project, dataset, bytes, query: "?target=survived");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var version = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, version.GetProperty("number").GetInt32());
        Assert.Equal(891, version.GetProperty("rowCount").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), version.GetProperty("sha256").GetString());
        Assert.Equal("float", Column(version, "age").GetProperty("type").GetString());
        Assert.Equal("categorical", Column(version, "embark_town").GetProperty("type").GetString());

        var profile = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}/versions/1/profile");
        var age = profile.GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "age");
        Assert.Equal(177, age.GetProperty("missing").GetInt64());
        Assert.NotEmpty(age.GetProperty("histogram").EnumerateArray());
        Assert.Contains(profile.GetProperty("warnings").EnumerateArray(),
            w => w.GetProperty("code").GetString() == "target-leakage" && w.GetProperty("column").GetString() == "alive");
    }

    [Fact]
    public async Task Preview_ReturnsTypedRows_AndDownload_ReturnsTheOriginalBytes()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(TestData, "iris.csv"));
        (await UploadAsync(project, dataset, bytes)).Dispose();
        var preview = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}/versions/1/preview?rows=5");
        Assert.Equal(5, preview.GetProperty("rows").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, preview.GetProperty("rows")[0].GetProperty("sepal_length").ValueKind);
        var downloaded = await app.Admin().GetByteArrayAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1/download");
        Assert.Equal(bytes, downloaded);
        var csv = await app.Admin().GetStringAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1/download?format=csv");
        Assert.Equal(151, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var parquet = await app.Admin().GetByteArrayAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1/download?format=parquet");
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "from-parquet" })).Dispose();
        using var reupload = await UploadAsync(project, "from-parquet", parquet, "application/vnd.apache.parquet");
        Assert.Equal(HttpStatusCode.Created, reupload.StatusCode);
        var roundTrip = await reupload.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(150, roundTrip.GetProperty("rowCount").GetInt64());
        Assert.Equal("float", Column(roundTrip, "sepal_length").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Preview_And_CsvExport_DefuseSpreadsheetFormulas()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var csv = "name,score\n=HYPERLINK(\"http://x\"),1\n@SUM(A1),2\nplain,3\n";
        using (var upload = await UploadAsync(project, dataset, Encoding.UTF8.GetBytes(csv)))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }
        var preview = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}/versions/1/preview");
        Assert.Equal("'=HYPERLINK(\"http://x\")", preview.GetProperty("rows")[0].GetProperty("name").GetString());
        var export = await app.Admin().GetStringAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1/download?format=csv");
        Assert.Contains("'@SUM(A1)", export);
        Assert.DoesNotContain("\n=", export);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "ragged")]
    [InlineData("a,b\n1,\"unterminated\n", "quote")]
    [InlineData("", "empty")]
    [InlineData("a,b\n", "header only")]
    [InlineData("a,a\n1,2\n", "duplicate")]
    public async Task Upload_BadCsv_Answers422NamingTheLine_AndStoresNothing(string csv, string _)
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var response = await UploadAsync(project, dataset, Encoding.UTF8.GetBytes(csv));
        await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
        var versions = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}/versions");
        Assert.Equal(0, versions.GetArrayLength());
        var blobs = Directory.EnumerateFiles(Path.Combine(app.DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName);
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(csv))), blobs);
    }

    [Fact]
    public async Task Upload_GzipBomb_Answers422BeforeInflatingIt_AndLeavesNoBlob()
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var compressed = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            "a,b\n"u8.CopyTo(zeros);
            for (var i = 0; i < 200; i++)
            {
                await gzip.WriteAsync(zeros);
            }
        }
        var bomb = compressed.ToArray();
        using var response = await UploadAsync(project, dataset, bomb, "application/gzip");
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
        Assert.Contains("compress", (body.GetProperty("detail").GetString() + body.GetProperty("errors")).ToLowerInvariant());
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bomb)),
            Directory.EnumerateFiles(Path.Combine(app.DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Upload_TruncatedParquet_Answers422()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = "PAR1"u8.ToArray().Concat(new byte[500]).Concat("PAR1"u8.ToArray()).ToArray();
        using var response = await UploadAsync(project, dataset, bytes, "application/vnd.apache.parquet");
        await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
    }

    [Fact]
    public async Task Upload_InvalidUtf8InDeclaredUtf8_Answers422NamingTheLine()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = "name,score\nok,1\n"u8.ToArray().Concat(new byte[] { 0xC3, 0x28, (byte)',', (byte)'2', (byte)'\n' }).ToArray();
        using var response = await UploadAsync(project, dataset, bytes, query: "?encoding=utf-8");
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "unreadable-data");
        Assert.Contains("line 3", body.GetProperty("errors").ToString());
    }

    [Fact]
    public async Task Upload_RaggedRowsWithSkip_CreatesVersionAndReportsThem()
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var response = await UploadAsync(project, dataset, Encoding.UTF8.GetBytes("a,b\n1,2\n3\n4,5\n"), query: "?onError=skip");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var version = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, version.GetProperty("rowCount").GetInt64());
        Assert.Equal(1, version.GetProperty("skippedRows").GetInt64());
        Assert.Equal(3, version.GetProperty("errors")[0].GetProperty("line").GetInt64());
    }

    [Theory]
    [InlineData("?onError=maybe", "onError")]
    [InlineData("?format=xlsx", "format")]
    [InlineData("?delimiter=x", "delimiter")]
    [InlineData("?header=yes", "header")]
    public async Task Upload_WithBadOption_Answers400NamingIt(string query, string field)
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var response = await UploadAsync(project, dataset, Encoding.UTF8.GetBytes("a\n1\n"), query: query);
        await Problems.AssertFieldErrorAsync(response, field);
    }

    [Fact]
    public async Task Upload_WithPickleOrFormContentType_Answers415()
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var pickle = await UploadAsync(project, dataset, [0x80, 0x04], "application/python-pickle");
        await Problems.AssertProblemAsync(pickle, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        using var xml = await UploadAsync(project, dataset, Encoding.UTF8.GetBytes("<a/>"), "application/xml");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, xml.StatusCode);
    }

    [Fact]
    public async Task Retype_CreatesANewVersionOverTheSameBytes_WithTheOverride()
    {
        var (project, dataset) = await CreateDatasetAsync();
        (await UploadAsync(project, dataset, await File.ReadAllBytesAsync(Path.Combine(TestData, "tips.csv")))).Dispose();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/versions",
            new { fromVersion = 1, columns = new Dictionary<string, object> { ["size"] = new { type = "categorical" }, ["day"] = new { ignored = true } } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var v2 = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, v2.GetProperty("number").GetInt32());
        Assert.Equal("categorical", Column(v2, "size").GetProperty("type").GetString());
        Assert.True(Column(v2, "size").GetProperty("overridden").GetBoolean());
        Assert.True(Column(v2, "day").GetProperty("ignored").GetBoolean());
        var v1 = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}/versions/1");
        Assert.Equal(v1.GetProperty("sha256").GetString(), v2.GetProperty("sha256").GetString());

        using var unknown = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/versions",
            new { fromVersion = 1, columns = new Dictionary<string, object> { ["nope"] = new { ignored = true } } });
        await Problems.AssertFieldErrorAsync(unknown, "columns.nope");
    }

    [Fact]
    public async Task Appends_AreValidated_ThenSealedIntoTheNextVersion()
    {
        var (project, dataset) = await CreateDatasetAsync();
        (await UploadAsync(project, dataset, Encoding.UTF8.GetBytes("sensor,temp\na,1.5\nb,2.5\n"))).Dispose();
        using (var bad = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/rows",
            new object[] { new { sensor = "c", temp = "hot" }, new { sensor = "d", humidity = 3 } }))
        {
            await Problems.AssertFieldErrorAsync(bad, "rows[0].temp");
        }
        using (var good = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/rows",
            new object[] { new { sensor = "c", temp = 3.5 }, new { sensor = "d", temp = 4.5 } }))
        {
            Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
            Assert.Equal(2, (await good.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pendingRows").GetInt32());
        }
        using var sealedVersion = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/versions", new { fromAppends = true });
        Assert.Equal(HttpStatusCode.Created, sealedVersion.StatusCode);
        var v2 = await sealedVersion.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(4, v2.GetProperty("rowCount").GetInt64());
        Assert.Equal("appends", v2.GetProperty("source").GetString());
        Assert.Equal("float", Column(v2, "temp").GetProperty("type").GetString());
        var info = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/{dataset}");
        Assert.Equal(0, info.GetProperty("pendingRows").GetInt32());
        using var nothing = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/versions", new { fromAppends = true });
        await Problems.AssertProblemAsync(nothing, HttpStatusCode.Conflict, "conflict");
    }

    private async Task<HttpResponseMessage> PutChunkAsync(string uploadUrl, byte[] bytes, long start, string? range = null)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Range", range ?? $"bytes {start}-{start + bytes.Length - 1}/*");
        return await app.Admin().PutAsync(uploadUrl, content);
    }

    [Fact]
    public async Task ResumableUpload_InChunks_ResumesFromTheReceivedSize_AndCompletesIntoAVersion()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(TestData, "penguins.csv"));
        using var opened = await app.Admin().PostAsync($"/v1/projects/{project}/datasets/{dataset}/uploads", null);
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        var url = opened.Headers.Location!.OriginalString;
        var half = bytes.Length / 2;

        using (var first = await PutChunkAsync(url, bytes[..half], 0))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        using (var replay = await PutChunkAsync(url, bytes[..half], 0))
        {
            var problem = await Problems.AssertProblemAsync(replay, HttpStatusCode.Conflict, "conflict");
            Assert.Contains($"start at byte {half}", problem.GetProperty("detail").GetString());
        }
        var status = await app.Admin().GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(half, status.GetProperty("receivedBytes").GetInt64());
        using (var lying = await PutChunkAsync(url, bytes[half..], half, $"bytes {half}-{bytes.Length + 10}/*"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, lying.StatusCode);
        }
        using (var second = await PutChunkAsync(url, bytes[half..], half))
        {
            Assert.Equal(bytes.Length, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receivedBytes").GetInt64());
        }
        using var completed = await app.Admin().PostAsync(url + "/complete", null);
        Assert.Equal(HttpStatusCode.Created, completed.StatusCode);
        var version = await completed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), version.GetProperty("sha256").GetString());
        Assert.Equal(344, version.GetProperty("rowCount").GetInt64());
        using var gone = await app.Admin().GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("bytes=0-3")]
    [InlineData("bytes 5-1/*")]
    [InlineData("bytes -1-3/*")]
    [InlineData("")]
    public async Task ResumableUpload_WithABadContentRange_Answers400(string range)
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var opened = await app.Admin().PostAsync($"/v1/projects/{project}/datasets/{dataset}/uploads", null);
        using var response = await PutChunkAsync(opened.Headers.Location!.OriginalString, [1, 2, 3, 4], 0, range);
        await Problems.AssertFieldErrorAsync(response, "Content-Range");
    }

    [Fact]
    public async Task ResumableUpload_PastTheUploadLimit_Answers413()
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var opened = await app.Admin().PostAsync($"/v1/projects/{project}/datasets/{dataset}/uploads", null);
        using var response = await PutChunkAsync(opened.Headers.Location!.OriginalString, [1, 2, 3, 4], 0, $"bytes 0-{long.MaxValue / 100000}/*");
        await Problems.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("..%2f..%2fetc%2fpasswd")]
    [InlineData("01ARZ3NDEKTSV4RRFFQ69G5FAV")]
    public async Task ResumableUpload_UnknownOrTraversalIds_Answer404(string uploadId)
    {
        var (project, dataset) = await CreateDatasetAsync();
        using var response = await PutChunkAsync($"/v1/projects/{project}/datasets/{dataset}/uploads/{uploadId}", [1], 0);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Split_IsDeterministic_AndStratifiedSplitsKeepClassShares()
    {
        var (project, dataset) = await CreateDatasetAsync();
        (await UploadAsync(project, dataset, await File.ReadAllBytesAsync(Path.Combine(TestData, "iris.csv")))).Dispose();
        var url = $"/v1/projects/{project}/datasets/{dataset}/versions/1/split";
        var plain = await app.Admin().GetStringAsync(url + "?testRatio=0.2&seed=7");
        Assert.Equal(plain, await app.Admin().GetStringAsync(url + "?testRatio=0.2&seed=7"));
        var stratified = await app.Admin().GetFromJsonAsync<JsonElement>(url + "?testRatio=0.2&stratify=species");
        Assert.Equal(30, stratified.GetProperty("testRows").GetInt64());
        foreach (var species in stratified.GetProperty("perClass").EnumerateObject())
        {
            Assert.Equal(10, species.Value[1].GetInt64());
        }
        using var bad = await app.Admin().GetAsync(url + "?testRatio=1.5");
        await Problems.AssertFieldErrorAsync(bad, "testRatio");
    }

    [Fact]
    public async Task DeletingVersions_FreesBlobsOnlyWhenNothingElseUsesThem()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = Encoding.UTF8.GetBytes("x,y\n1,2\n3,4\n" + Guid.NewGuid().ToString("N") + ",5\n");
        var blob = Path.Combine(app.DataDirectory, "artifacts", "sha256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..2],
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        (await UploadAsync(project, dataset, bytes)).Dispose();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/{dataset}/versions", new { fromVersion = 1, columns = new Dictionary<string, object>() })).Dispose();
        using (var first = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }
        Assert.True(File.Exists(blob), "version 2 still uses the bytes");
        using (var all = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/{dataset}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, all.StatusCode);
        }
        Assert.False(File.Exists(blob));
    }

    [Fact]
    public async Task DeletingAProject_FreesItsDatasetBlobs()
    {
        var (project, dataset) = await CreateDatasetAsync();
        var bytes = Encoding.UTF8.GetBytes("x,y\n1,2\n" + Guid.NewGuid().ToString("N") + ",5\n");
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        (await UploadAsync(project, dataset, bytes)).Dispose();
        var blob = Path.Combine(app.DataDirectory, "artifacts", "sha256", digest[..2], digest);
        Assert.True(File.Exists(blob));
        using var deleted = await app.Admin().DeleteAsync($"/v1/projects/{project}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(blob));
    }

    [Fact]
    public async Task Datasets_OfAnotherProject_AreNotFound()
    {
        var (project, dataset) = await CreateDatasetAsync();
        (await UploadAsync(project, dataset, Encoding.UTF8.GetBytes("a\n1\n"))).Dispose();
        var other = await app.CreateProjectAsync();
        var (_, otherKey) = await app.CreateKeyAsync(other, "project:write");
        using var direct = await app.Client(otherKey).GetAsync($"/v1/projects/{other}/datasets/{dataset}/versions/1/download");
        await Problems.AssertProblemAsync(direct, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Create_DuplicateOrBadName_IsRefused()
    {
        var (project, _) = await CreateDatasetAsync("sales");
        using var duplicate = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "sales" });
        await Problems.AssertProblemAsync(duplicate, HttpStatusCode.Conflict, "conflict");
        using var traversal = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "../../etc" });
        await Problems.AssertFieldErrorAsync(traversal, "name");
    }
}
