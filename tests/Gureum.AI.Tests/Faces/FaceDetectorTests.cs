using Gureum.AI.Faces;
using Gureum.AI.Ocr;
using OpenCvSharp;

namespace Gureum.AI.Tests.Faces;

public sealed class FaceDetectorTests : IDisposable
{
    private readonly FaceDetector _detector = new();

    public void Dispose() => _detector.Dispose();

    [Fact]
    public void Astronaut_HasOneFace_BoxedAroundIt()
    {
        var face = Assert.Single(_detector.Detect(TestImages.Bytes("astronaut.jpg"), minFaceSize: 0));

        AssertAround(TestImages.AstronautFace, face.Box);
        Assert.InRange(face.Confidence, 0.5, 1.0);
    }

    [Theory]
    [InlineData("chelsea.jpg")]
    [InlineData("coffee.jpg")]
    public void PhotoWithoutAPerson_HasNoFace(string photo) =>
        Assert.Empty(_detector.Detect(TestImages.Bytes(photo), minFaceSize: 0));

    [Fact]
    public void ThreeFacesAtThreeSizes_AreAllFound_EachInItsTile()
    {
        var (png, tiles) = TestImages.Composite(200, 120, 70);

        var faces = _detector.Detect(png, minFaceSize: 0);

        Assert.Equal(3, faces.Count);
        foreach (var tile in tiles)
            Assert.Single(faces, f => tile.Contains(Center(f.Box)));
        Assert.All(faces, f => Assert.InRange(f.Confidence, 0.0, 1.0));
        Assert.True(faces.Zip(faces.Skip(1)).All(p => p.First.Confidence >= p.Second.Confidence), "most confident first");
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(45, 2)]
    [InlineData(75, 1)]
    [InlineData(150, 0)]
    public void MinFaceSize_LeavesOutSmallerFaces(int minFaceSize, int expected)
    {
        // Faces of about 92, 55 and 32 px.
        var (png, _) = TestImages.Composite(200, 120, 70);

        var faces = _detector.Detect(png, minFaceSize);

        Assert.Equal(expected, faces.Count);
        Assert.All(faces, f => Assert.True(f.Box.Width >= minFaceSize && f.Box.Height >= minFaceSize));
    }

    [Fact]
    public void LargeImage_IsScaledDownForSpeed_AndBoxesScaledBack()
    {
        using var astronaut = TestImages.Load("astronaut.jpg");
        using var large = astronaut.Resize(new Size(2560, 2560), interpolation: InterpolationFlags.Cubic);

        var faces = _detector.Detect(TestImages.Png(large), minFaceSize: 0);

        // The blurred 5× enlargement, scaled to 1024 px, also makes the suit's patch look faintly like a face.
        var expected = TestImages.AstronautFace;
        AssertAround(new Rect(expected.X * 5, expected.Y * 5, expected.Width * 5, expected.Height * 5), faces[0].Box);
        Assert.All(faces, f => Assert.True(f.Box.X + f.Box.Width <= 2560 && f.Box.Y + f.Box.Height <= 2560));
    }

    [Fact]
    public void LargeImage_SmallFaceThatSurvivesScaling_IsFound_AndMinFaceSizeStillApplies()
    {
        // A 74 px face in a 2560 px photo is 30 px at the 1024 px used for speed. (A photo rather than a plain
        // canvas: equalising a mostly uniform image would flatten the face.)
        var (png, _) = TestImages.Composite(160);
        using var head = Cv2.ImDecode(png, ImreadModes.Color);
        using var coffee = TestImages.Load("coffee.jpg");
        using var photo = coffee.Resize(new Size(2560, 2560));
        using (var target = new Mat(photo, new Rect(1000, 1000, head.Width, head.Height)))
            head.CopyTo(target);
        byte[] image = TestImages.Png(photo);
        var tile = new Rect(1040, 1040, 160, 160);

        // The 4× enlarged coffee photo may yield a faint false face as well; the real one comes first.
        var face = _detector.Detect(image, minFaceSize: 0)[0];
        Assert.True(tile.Contains(Center(face.Box)));
        Assert.InRange(face.Box.Width, 55, 100);
        Assert.DoesNotContain(_detector.Detect(image, minFaceSize: 100), f => tile.Contains(Center(f.Box)));
    }

    private static Point Center(BoundingBox b) => new(b.X + b.Width / 2, b.Y + b.Height / 2);

    /// <summary>The box is centred on the face (within a quarter of its size) and 0.7–1.4× as wide.</summary>
    private static void AssertAround(Rect face, BoundingBox box)
    {
        var c = Center(box);
        Assert.InRange(c.X, face.X + face.Width / 4, face.X + face.Width * 3 / 4);
        Assert.InRange(c.Y, face.Y + face.Height / 4, face.Y + face.Height * 3 / 4);
        Assert.InRange(box.Width, face.Width * 0.7, face.Width * 1.4);
    }
}
