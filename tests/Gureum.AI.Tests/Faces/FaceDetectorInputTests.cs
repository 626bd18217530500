using Gureum.AI.Faces;

namespace Gureum.AI.Tests.Faces;

/// <summary>SECURITY-TESTS.md classes as they apply to uploaded image bytes, plus a missing install.</summary>
public sealed class FaceDetectorInputTests : IDisposable
{
    private readonly FaceDetector _detector = new();

    public void Dispose() => _detector.Dispose();

    public static TheoryData<string, byte[]> Garbage()
    {
        var random = new byte[4096];
        new Random(42).NextBytes(random);
        var jpeg = TestImages.Bytes("astronaut.jpg");
        return new()
        {
            { "empty", [] },
            { "random bytes", random },
            { "text", "<html><body>not an image</body></html>"u8.ToArray() },
            { "JPEG header only", jpeg[..64] },
            { "PNG signature only", [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A] },
        };
    }

    [Theory]
    [MemberData(nameof(Garbage))]
    public void Requests_GarbageBytes_Are400OnFile(string what, byte[] bytes)
    {
        var e = Assert.Throws<AiInputException>(() => _detector.Detect(bytes, minFaceSize: 0));
        Assert.True(e is { Status: 400, Field: "file" }, what);
        Assert.DoesNotContain("/", e.Message);
    }

    [Fact]
    public void ArchivesAndModelFiles_TruncatedJpeg_DecodesWhatIsThereOrIs400_NeverCrashes()
    {
        var jpeg = TestImages.Bytes("astronaut.jpg");
        foreach (int length in new[] { 200, 2000, jpeg.Length / 2 })
        {
            try
            {
                Assert.True(_detector.Detect(jpeg.AsSpan(0, length), minFaceSize: 0).Count <= 1);
            }
            catch (AiInputException e)
            {
                Assert.Equal((400, "file"), (e.Status, e.Field));
            }
        }
    }

    [Fact]
    public void Requests_NegativeMinFaceSize_Is400()
    {
        var e = Assert.Throws<AiInputException>(() => _detector.Detect(TestImages.Bytes("astronaut.jpg"), minFaceSize: -1));
        Assert.Equal((400, "minFaceSize"), (e.Status, e.Field));
    }

    [Fact]
    public void MissingModelDirectory_IsEngineUnavailable()
    {
        var e = Assert.Throws<EngineUnavailableException>(() => FaceModel.Find(["/nonexistent/opencv4/haarcascades"]));
        Assert.Equal(("faces", "opencv-data libgtk-3-0"), (e.Engine, e.Packages));
    }

    [Theory]
    [InlineData("/nonexistent/haarcascade_frontalface_alt2.xml")]
    [InlineData("/etc/hostname")]
    public void MissingOrUnreadableModel_IsEngineUnavailable(string path)
    {
        var e = Assert.Throws<EngineUnavailableException>(() => new FaceDetector(path));
        Assert.Equal(("faces", "opencv-data libgtk-3-0"), (e.Engine, e.Packages));
    }

    [Fact]
    public void Model_IsFoundInOpencvData() =>
        Assert.Equal("/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml", FaceModel.Find());
}
