using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gureum.Client;
using OpenCvSharp;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>The <c>ai</c> commands against the shared server on its real engines.</summary>
public sealed partial class AiTests(GureumServer server) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gureum-cli-ai-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [GeneratedRegex(@"operation (\w+)")]
    private static partial Regex OperationId();

    private async Task<string> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        return name;
    }

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Black text on white, large enough for OCR, in OpenCV's Hershey font.</summary>
    private static Mat Page(params string[] lines)
    {
        var page = new Mat(120 + 90 * lines.Length, 1800, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        for (var i = 0; i < lines.Length; i++)
        {
            Cv2.PutText(page, lines[i], new Point(60, 110 + 90 * i), HersheyFonts.HersheySimplex, 2.0, OpenCvSharp.Scalar.Black, 4, LineTypes.AntiAlias);
        }
        return page;
    }

    private static byte[] Png(params string[] lines)
    {
        using var page = Page(lines);
        return page.ImEncode(".png");
    }

    /// <summary>The words of a text, lower case, without punctuation: OCR and recognition differ in those only.</summary>
    private static string Words(string text) =>
        string.Join(' ', text.ToLowerInvariant().Split([' ', '\n', '\r', '\f', '.', ','], StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task Ocr_OfARenderedImage_PrintsItsText_AndJsonHasWordsWithBoxes()
    {
        var project = await CreateProjectAsync();
        var image = WriteFile("fox.png", Png("THE QUICK BROWN FOX", "JUMPS OVER 42 DOGS"));

        var text = await server.RunAsync("ai", "ocr", project, image);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("the quick brown fox jumps over 42 dogs", Words(text.Out));

        var json = await server.RunAsync("--json", "ai", "ocr", project, image, "--languages", "eng");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var result = JsonDocument.Parse(json.Out);
        Assert.Equal("eng", result.RootElement.GetProperty("languages").GetString());
        var first = result.RootElement.GetProperty("pages")[0].GetProperty("lines")[0].GetProperty("words")[0];
        Assert.Equal("THE", first.GetProperty("text").GetString());
        Assert.InRange(first.GetProperty("box").GetProperty("x").GetInt32(), 40, 90);
    }

    [Fact]
    public async Task Ocr_OfAMultiPageTiff_ShowsProgressOnStderr_PrintsEachPage_AndDeletesTheOperation()
    {
        var project = await CreateProjectAsync();
        var tiff = Path.Combine(_directory, "pages.tiff");
        using (var first = Page("FIRST PAGE"))
        using (var second = Page("SECOND PAGE"))
        {
            Cv2.ImWrite(tiff, [first, second]);
        }

        var run = await server.RunAsync("ai", "ocr", project, tiff);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("page 1 of 2 first page page 2 of 2 second page", Words(run.Out.Replace("---", "", StringComparison.Ordinal)));
        Assert.Contains("--- page 2 of 2 ---", run.Out);
        Assert.Contains("100%", run.Err); // redirected: plain progress lines, on stderr so stdout keeps only the text
        Assert.DoesNotContain("%", run.Out);
        var id = OperationId().Match(run.Err).Groups[1].Value;
        Assert.NotEqual("", id);
        using var client = new GureumClient(server.Http, server.AdminKey);
        var gone = await Assert.ThrowsAsync<GureumApiException>(() => client.GetOperationAsync(project, id));
        Assert.Equal(404, gone.Status);

        var json = await server.RunAsync("ai", "ocr", project, tiff, "--out", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var result = JsonDocument.Parse(json.Out);
        Assert.Equal(2, result.RootElement.GetProperty("pages").GetArrayLength());
    }

    [Fact]
    public async Task Tts_ToAFile_ThenStt_OfThatFile_HearsTheWords()
    {
        var project = await CreateProjectAsync();
        var wav = Path.Combine(_directory, "door.wav");

        var spoken = await server.RunAsync("ai", "tts", project, "Open the door and turn on the light.", "--voice", "flite:rms", "-o", wav);
        Assert.True(spoken.ExitCode == 0, spoken.ToString());
        Assert.Contains("Saved", spoken.Out);
        var bytes = await File.ReadAllBytesAsync(wav);
        Assert.Equal("RIFF", Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(bytes.Length - 44, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(40)));
        Assert.Empty(Directory.GetFiles(_directory, "*.part"));

        var refused = await server.RunAsync("ai", "tts", project, "Something else.", "-o", wav);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("--force", refused.Err);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(wav));
        var replaced = await server.RunAsync("--json", "ai", "tts", project, "Open the door and turn on the light.", "--voice", "flite:rms", "-o", wav, "--force");
        Assert.True(replaced.ExitCode == 0, replaced.ToString());
        using (var saved = JsonDocument.Parse(replaced.Out))
        {
            Assert.Equal(wav, saved.RootElement.GetProperty("path").GetString());
            Assert.Equal(new FileInfo(wav).Length, saved.RootElement.GetProperty("sizeBytes").GetInt64());
            Assert.InRange(saved.RootElement.GetProperty("seconds").GetDouble(), 1, 6);
        }

        var heard = await server.RunAsync("ai", "stt", project, wav, "--words");
        Assert.True(heard.ExitCode == 0, heard.ToString());
        Assert.Matches(@"WORD\s*│\s*START\s*│\s*END\s*│\s*CONFIDENCE", heard.Out);
        // Short commands from Flite speech come back nearly word for word; require 5 of the 7 distinct words.
        var text = Words(heard.Out.Split('\n')[0]);
        Assert.True(new[] { "open", "the", "door", "and", "turn", "on", "light" }.Count(w => text.Split(' ').Contains(w)) >= 5, heard.ToString());

        // Asynchronous on request: progress on stderr, and stdout still parses as the transcript.
        var json = await server.RunAsync("--json", "ai", "stt", project, wav, "--async");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var transcript = JsonDocument.Parse(json.Out);
        var starts = transcript.RootElement.GetProperty("words").EnumerateArray().Select(w => w.GetProperty("start").GetDouble()).ToList();
        Assert.NotEmpty(starts);
        Assert.Equal(starts.Order(), starts);
        Assert.Contains("100%", json.Err);
    }

    [Fact]
    public async Task Translate_EnglishToSpanish_WithAnAiKey_FromArgumentsOrAFile()
    {
        var project = await CreateProjectAsync();
        var created = await server.RunAsync("--json", "keys", "create", project, "app", "--scope", "ai");
        Assert.True(created.ExitCode == 0, created.ToString());
        string key;
        using (var body = JsonDocument.Parse(created.Out))
        {
            key = body.RootElement.GetProperty("secret").GetString()!;
        }

        var one = await server.RunWithKeyAsync(key, "ai", "translate", project, "--from", "eng", "--to", "spa", "The house is big.");
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Equal("La casa es grande.", one.Out.Trim());

        var lines = WriteFile("lines.txt", Encoding.UTF8.GetBytes("The house is big.\nI have a cat.\n"));
        var file = await server.RunWithKeyAsync(key, "ai", "translate", project, "--from", "eng", "--to", "spa", "--file", lines);
        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.Equal(["La casa es grande.", "Tengo un gato."], file.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var json = await server.RunWithKeyAsync(key, "--json", "ai", "translate", project, "--from", "eng", "--to", "spa", "The house is big.");
        Assert.True(json.ExitCode == 0, json.ToString());
        using (var result = JsonDocument.Parse(json.Out))
        {
            var translation = result.RootElement.GetProperty("results")[0].GetProperty("translations")[0];
            Assert.Equal(("spa", "La casa es grande."), (translation.GetProperty("target").GetString(), translation.GetProperty("text").GetString()));
        }

        var pair = await server.RunWithKeyAsync(key, "ai", "translate", project, "--from", "eng", "--to", "kor", "The house is big.");
        Assert.True(pair.ExitCode == 6, pair.ToString());
        Assert.Contains("target", pair.Err);
    }

    [Fact]
    public async Task Faces_Engines_AndVoices_PrintTablesOrJson()
    {
        var project = await CreateProjectAsync();
        var image = WriteFile("text.png", Png("NO FACES HERE"));

        var faces = await server.RunAsync("ai", "faces", project, image);
        Assert.True(faces.ExitCode == 0, faces.ToString());
        Assert.Contains("No faces found in the 1800×210 image", faces.Out);
        var facesJson = await server.RunAsync("--json", "ai", "faces", project, image, "--min-face-size", "40");
        Assert.True(facesJson.ExitCode == 0, facesJson.ToString());
        using (var result = JsonDocument.Parse(facesJson.Out))
        {
            Assert.Equal(0, result.RootElement.GetProperty("faces").GetArrayLength());
            Assert.Equal(1800, result.RootElement.GetProperty("width").GetInt32());
        }

        var engines = await server.RunAsync("--json", "ai", "engines", project);
        Assert.True(engines.ExitCode == 0, engines.ToString());
        using (var list = JsonDocument.Parse(engines.Out))
        {
            Assert.Equal(["faces", "ocr", "stt", "translate", "tts"], list.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()).Order());
        }
        var table = await server.RunAsync("ai", "engines", project);
        Assert.Matches(@"translate\s*│\s*ready", table.Out);

        var voices = await server.RunAsync("ai", "voices", project);
        Assert.True(voices.ExitCode == 0, voices.ToString());
        Assert.Matches(@"flite:slt\s*│", voices.Out);
    }

    [Fact]
    public async Task BadFiles_AndMissingText_AreRefusedBeforeAnyRequest()
    {
        // Nothing listens at this address: a request would exit 7, not 2.
        var url = $"http://127.0.0.1:{GureumServer.FreePort()}";
        Task<CliRun> Run(params string[] args) => GureumServer.RunCliAsync(null, ["--url", url, "--key", server.AdminKey, "ai", .. args]);
        var existing = WriteFile("existing.wav", [1, 2, 3]);

        (string[] Args, string Message)[] cases =
        [
            (["ocr", "p", WriteFile("scan.gif", [1])], "'scan.gif' is not a file OCR reads: give a .png, .jpg/.jpeg, .tif/.tiff, .bmp or .pdf file"),
            (["faces", "p", WriteFile("doc.pdf", [1])], "not a file face detection reads"),
            (["stt", "p", WriteFile("talk.mp3", [1])], "give a .wav"),
            (["ocr", "p", Path.Combine(_directory, "missing.png")], "does not exist"),
            (["ocr", "p", _directory], "is a directory"),
            (["tts", "p", "-o", Path.Combine(_directory, "out.wav")], "Give the text to speak"),
            (["tts", "p", "hello", "-o", existing], "already exists; pass --force"),
            (["translate", "p", "--from", "eng", "--to", "spa"], "Give the texts to translate"),
            (["translate", "p", "--from", "eng", "--to", "spa", "--file", WriteFile("empty.txt", [])], "is empty"),
        ];
        foreach (var (args, message) in cases)
        {
            var run = await Run(args);
            Assert.True(run.ExitCode == 2, string.Join(' ', args) + ": " + run);
            Assert.Contains(message, Flat(run.Err));
        }
    }

    /// <summary>The text with the console's line wrapping undone.</summary>
    private static string Flat(string text) => string.Join(' ', text.Split((char[])['\r', '\n', ' '], StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task StreamedWav_GetsItsRealSizes_AndOtherFilesAreLeftAlone()
    {
        var header = new byte[44];
        Encoding.ASCII.GetBytes("RIFF").CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), uint.MaxValue);
        Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(header, 8);
        Encoding.ASCII.GetBytes("data").CopyTo(header, 36);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), uint.MaxValue);
        var wav = WriteFile("streamed.wav", [.. header, .. new byte[1000]]);
        byte[] notWav = [.. Encoding.ASCII.GetBytes("not a wav"), .. new byte[100]];
        var other = WriteFile("other.wav", notWav);

        foreach (var path in new[] { wav, other })
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            await AiFiles.FixWavSizesAsync(file);
        }

        var fixedUp = await File.ReadAllBytesAsync(wav);
        Assert.Equal(1036u, BinaryPrimitives.ReadUInt32LittleEndian(fixedUp.AsSpan(4)));
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32LittleEndian(fixedUp.AsSpan(40)));
        Assert.Equal(notWav, await File.ReadAllBytesAsync(other));
    }

    [Theory]
    [InlineData("scan.PNG", "image/png")]
    [InlineData("a/b.jpeg", "image/jpeg")]
    [InlineData("x.jpg", "image/jpeg")]
    [InlineData("x.tif", "image/tiff")]
    [InlineData("x.bmp", "image/bmp")]
    [InlineData("report.pdf", "application/pdf")]
    public void OcrContentType_FollowsTheExtension(string path, string expected) => Assert.Equal(expected, GureumClient.ContentTypeForOcr(path));

    [Fact]
    public void FacesAndSpeechContentTypes_RefuseWhatTheyCannotRead()
    {
        Assert.Equal("image/tiff", GureumClient.ContentTypeForFaces("x.TIFF"));
        Assert.Throws<NotSupportedException>(() => GureumClient.ContentTypeForFaces("x.pdf"));
        Assert.Equal("audio/wav", GureumClient.ContentTypeForSpeech("x.wav"));
        Assert.Throws<NotSupportedException>(() => GureumClient.ContentTypeForSpeech("x"));
        Assert.Throws<NotSupportedException>(() => GureumClient.ContentTypeForOcr("x.webp"));
    }
}
