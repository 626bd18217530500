using System.Text.RegularExpressions;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using OpenCvSharp;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

/// <summary>The AI playground on the real engines: what a user sees come back from each API, drawn where it belongs.</summary>
public sealed class PlaygroundTests(ConsoleApp app) : BrowserTest(app)
{
    /// <summary>The engines load at start-up and the first call of each may wait for its model.</summary>
    private static readonly LocatorAssertionsToContainTextOptions Slow = new() { Timeout = 90_000 };

    private async Task<string> OpenPlaygroundAsync(string project, string? key = null)
    {
        await App.Api().CreateProjectAsync(project);
        await SignInAsync(key, $"/projects/{project}/playground");
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "AI playground" })).ToBeVisibleAsync();
        return project;
    }

    /// <summary>Black text on white, as a scanned page (the testdata folder has no images; the server's OCR tests render theirs the same way).</summary>
    private static byte[] RenderText(params string[] lines)
    {
        using var page = new Mat(120 + 90 * lines.Length, 1800, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        for (var i = 0; i < lines.Length; i++)
        {
            Cv2.PutText(page, lines[i], new Point(60, 110 + 90 * i), HersheyFonts.HersheySimplex, 2.0, OpenCvSharp.Scalar.Black, 4, LineTypes.AntiAlias);
        }
        return page.ImEncode(".png");
    }

    /// <summary>Every box's rectangle on screen lies within the image's, and there is at least one.</summary>
    private async Task<int> AssertBoxesInsideImageAsync(string container)
    {
        var outside = await Page.EvaluateAsync<int[]>($$"""
            () => {
              const root = document.querySelector('{{container}}');
              const img = root.querySelector('img').getBoundingClientRect();
              const boxes = [...root.querySelectorAll('.console-box')].map(b => b.getBoundingClientRect());
              const inside = b => b.width > 0 && b.height > 0 && b.left >= img.left - 1 && b.top >= img.top - 1 && b.right <= img.right + 1 && b.bottom <= img.bottom + 1;
              return [boxes.length, boxes.filter(b => !inside(b)).length, img.width > 0 ? 1 : 0];
            }
            """);
        Assert.True(outside[2] == 1, "the image is not shown");
        Assert.True(outside[0] > 0, "no box drawn");
        Assert.True(outside[1] == 0, $"{outside[1]} of {outside[0]} boxes lie outside the image");
        return outside[0];
    }

    [Fact]
    public async Task Ocr_ReadsTheWords_AndDrawsEachWordsBoxOverTheImage()
    {
        await OpenPlaygroundAsync("play-ocr");
        await Expect(Page.Locator("#ocr-limits")).ToContainTextAsync("up to 50 MiB");
        await AssertAccessibleAsync();

        await Page.Locator("#ocr-upload input[type=file]").SetInputFilesAsync(new FilePayload
        {
            Name = "page.png",
            MimeType = "image/png",
            Buffer = RenderText("THE QUICK BROWN FOX", "JUMPS OVER 42 DOGS"),
        });
        await Expect(Page.Locator("#ocr-text")).ToContainTextAsync("THE QUICK BROWN FOX", Slow);
        await Expect(Page.Locator("#ocr-text")).ToContainTextAsync("JUMPS OVER 42 DOGS");
        await Expect(Page.Locator("#ocr-latency")).ToHaveTextAsync(new Regex(@"^\d+ ms$"));

        var boxes = await AssertBoxesInsideImageAsync("#ocr-image");
        Assert.Equal(8, boxes);
        // the first word's box sits at the top left, where "THE" was drawn (x 60 of 1800, y ~60–110 of 300)
        var first = Page.Locator("#ocr-image .console-box").First;
        var style = await first.GetAttributeAsync("style");
        Assert.Matches(@"left:[2-4](\.\d+)?%", style);
        await first.HoverAsync();
        await Expect(first.Locator(".console-box-label")).ToBeVisibleAsync();
        await Expect(first.Locator(".console-box-label")).ToHaveTextAsync(new Regex(@"^THE \(\d+%\)$"));
        await AssertAccessibleAsync();
        await Page.AssertFitsTabletAsync("PlaygroundTests.ocr-tablet");
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Ocr_Korean_ReadsHangul_WhenKoreanIsPicked()
    {
        // a line of Hangul drawn by the browser itself in Nanum Gothic (OpenCV's fonts have no Hangul)
        await Page.SetContentAsync("<p id='line' style='display:inline-block;margin:0;padding:24px 40px;background:#fff;color:#000;font:56px NanumGothic'>안녕하세요 구름 플랫폼</p>");
        var png = await Page.Locator("#line").ScreenshotAsync();
        await OpenPlaygroundAsync("play-ocr-kor");

        await Page.Locator("#ocr-language").Locator("xpath=..").ClickAsync();
        await Page.GetByRole(AriaRole.Option, new() { Name = "Korean", Exact = true }).ClickAsync();
        await Page.Locator("#ocr-upload input[type=file]").SetInputFilesAsync(new FilePayload { Name = "hangul.png", MimeType = "image/png", Buffer = png });
        await Expect(Page.Locator("#ocr-summary")).ToContainTextAsync("kor", Slow);
        await Expect(Page.Locator("#ocr-text")).ToContainTextAsync("안녕하세요");
        await Expect(Page.Locator("#ocr-text")).ToContainTextAsync("구름");
        await AssertBoxesInsideImageAsync("#ocr-image");
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Ocr_AnImageTheApiCannotRead_ShowsTheApisProblem()
    {
        await OpenPlaygroundAsync("play-ocr-bad");
        await Expect(Page.Locator("#ocr-limits")).ToBeVisibleAsync();
        // Under a loaded machine a file chosen in the page's first moments was twice not taken (the panel re-rendered):
        // choose it again if no answer shows; noted as an open console issue.
        for (var attempt = 1; ; attempt++)
        {
            await Page.Locator("#ocr-upload input[type=file]").SetInputFilesAsync(new FilePayload
            {
                Name = "broken.png",
                MimeType = "image/png",
                Buffer = "this is not a PNG at all"u8.ToArray(),
            });
            try
            {
                await Expect(Page.Locator("#ocr-error")).ToBeVisibleAsync(new() { Timeout = 15_000 });
                break;
            }
            catch (PlaywrightException) when (attempt < 3)
            {
            }
        }
        await Expect(Page.Locator("#ocr-error")).ToContainTextAsync(new Regex("image|PNG|file", RegexOptions.IgnoreCase));
        await Expect(Page.Locator("#ocr-image")).ToHaveCountAsync(0);
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Faces_AFileOverTheServersLimit_IsRefusedBeforeItIsSent()
    {
        await OpenPlaygroundAsync("play-faces-large");
        await Page.GetByRole(AriaRole.Tab, new() { Name = "Faces" }).ClickAsync();
        await Expect(Page.Locator("#faces-limits")).ToContainTextAsync("up to 50 MiB");
        var huge = Path.Combine(Directory.CreateTempSubdirectory("gureum-console-").FullName, "huge.png");
        await using (var file = File.Create(huge))
        {
            file.SetLength(50 * 1024 * 1024 + 1); // sparse: nothing is written
        }
        try
        {
            await Page.Locator("#faces-upload input[type=file]").SetInputFilesAsync(huge);
            await Expect(Page.Locator("#faces-error")).ToContainTextAsync("huge.png is 50 MiB; this server accepts at most 50 MiB (Gureum:Ai:MaxImageBytes)");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(huge)!, recursive: true);
        }
        await Expect(Page.Locator("#faces-summary")).ToHaveCountAsync(0);
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Tts_GivesAPlayableAudioElement_WithTheSpeechsDuration()
    {
        await OpenPlaygroundAsync("play-tts");
        await Page.GetByRole(AriaRole.Tab, new() { Name = "Text to speech" }).ClickAsync();
        await Page.GetByLabel("Text to speak").FillAsync("Open the door and turn on the light, please.");
        await Page.Locator("#tts-speak").ClickAsync();
        await Expect(Page.Locator("#tts-latency")).ToHaveTextAsync(new Regex(@"^\d+ ms$"), new() { Timeout = 90_000 });

        var audio = Page.Locator("#tts-audio");
        Assert.StartsWith("data:audio/wav;base64,", await audio.GetAttributeAsync("src"));
        await Page.WaitForFunctionAsync("() => { const a = document.querySelector('#tts-audio'); return a.readyState >= 1 && a.duration > 0; }");
        var seconds = await audio.EvaluateAsync<double>("a => a.duration");
        Assert.InRange(seconds, 1.0, 10.0);
        Assert.Null(await audio.EvaluateAsync<string?>("a => a.error && a.error.message"));
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Stt_TranscribesAWav_WithEachWordsTime()
    {
        var project = await OpenPlaygroundAsync("play-stt");
        using var wav = new MemoryStream();
        await App.Api().SpeakAsync(project, new TtsRequest("Open the door and turn on the light.", "flite:rms", SampleRate: 44100), wav);

        await Page.GetByRole(AriaRole.Tab, new() { Name = "Speech to text" }).ClickAsync();
        await Page.Locator("#stt-upload input[type=file]").SetInputFilesAsync(new FilePayload { Name = "door.wav", MimeType = "audio/wav", Buffer = wav.ToArray() });
        await Expect(Page.Locator("#stt-text")).ToContainTextAsync("door", Slow);
        await Expect(Page.Locator("#stt-latency")).ToHaveTextAsync(new Regex(@"^\d+ ms$"));
        Assert.True(await Page.Locator("#stt-words tbody tr").CountAsync() >= 5);
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task Translation_EnglishToSpanish_ShowsTheTranslation()
    {
        await OpenPlaygroundAsync("play-translate");
        await Page.GetByRole(AriaRole.Tab, new() { Name = "Translation" }).ClickAsync();
        await Page.GetByLabel("Text (eng)").FillAsync("The house is big.\nI have a cat.");
        await Page.Locator("#translate-run").ClickAsync();
        await Expect(Page.Locator("#translate-latency")).ToHaveTextAsync(new Regex(@"^\d+ ms$"), new() { Timeout = 90_000 });
        await Expect(Page.GetByLabel("Translation (spa)")).ToHaveValueAsync("La casa es grande.\nTengo un gato.");
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }

    /// <summary>Eileen Collins's face is at about x 180, y 70, 88 × 88 of the 512 × 512 photo, at whatever size it is shown.</summary>
    private async Task AssertFaceAroundAstronautsAsync()
    {
        // measured in one frame: after a resize the drawer slides away and the image moves while it does
        var box = await Page.EvaluateAsync<double[]>("""
            () => {
              const img = document.querySelector('#faces-image img').getBoundingClientRect();
              const face = document.querySelector('#faces-image .console-box').getBoundingClientRect();
              const scale = img.width / 512;
              return [(face.left - img.left) / scale, (face.top - img.top) / scale, face.width / scale];
            }
            """);
        Assert.InRange(box[0], 150, 210);
        Assert.InRange(box[1], 40, 100);
        Assert.InRange(box[2], 60, 130);
    }

    [Fact]
    public async Task Faces_DrawsTheFaceOnTheImage_WithItsScore_AtLaptopAndTabletWidths()
    {
        await OpenPlaygroundAsync("play-faces");
        await Page.GetByRole(AriaRole.Tab, new() { Name = "Faces" }).ClickAsync();
        await Page.Locator("#faces-upload input[type=file]").SetInputFilesAsync(Path.Combine(Repository.Root, "tests", "Gureum.AI.Tests", "Faces", "data", "astronaut.jpg"));
        await Expect(Page.Locator("#faces-count")).ToHaveTextAsync("1 face(s)", new() { Timeout = 90_000 });

        Assert.Equal(1, await AssertBoxesInsideImageAsync("#faces-image"));
        var face = Page.Locator("#faces-image .console-box");
        await Expect(face.Locator(".console-box-label")).ToBeVisibleAsync();
        await Expect(face.Locator(".console-box-label")).ToHaveTextAsync(new Regex(@"^face 1: (0|1)\.\d\d$"));
        await AssertFaceAroundAstronautsAsync();
        await AssertAccessibleAsync();

        // on a tablet (820 px, as Tablet.AssertFitsTabletAsync) the image shrinks to the column and the box shrinks with it, and nothing scrolls sideways
        await Page.SetViewportSizeAsync(820, 1180);
        // the drawer slides away and the image moves while it does: wait until it stays put for two frames
        await Page.WaitForFunctionAsync("""
            () => new Promise(done => {
              const left = () => document.querySelector('#faces-image img').getBoundingClientRect().left;
              const before = left();
              requestAnimationFrame(() => requestAnimationFrame(() => done(Math.abs(left() - before) < 0.5)));
            })
            """);
        Assert.Equal(1, await AssertBoxesInsideImageAsync("#faces-image"));
        await AssertFaceAroundAstronautsAsync();
        Assert.True(await Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at a tablet's 820 px");
        AssertNoBrowserErrors();
    }
}
