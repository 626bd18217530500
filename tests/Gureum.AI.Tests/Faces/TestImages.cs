using OpenCvSharp;

namespace Gureum.AI.Tests.Faces;

/// <summary>The photos in Faces/data (see its README) and images made from them.</summary>
internal static class TestImages
{
    /// <summary>Eileen Collins's face in astronaut.jpg (512×512), as drawn by hand around eyes, nose and mouth.</summary>
    public static readonly Rect AstronautFace = new(180, 70, 88, 88);

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Faces", "data", name));

    public static Mat Load(string name) => Cv2.ImDecode(Bytes(name), ImreadModes.Color);

    public static byte[] Png(Mat image) => image.ImEncode(".png");

    /// <summary>The astronaut's head (200×200 around the face) pasted at the given widths on a plain grey canvas.</summary>
    public static (byte[] Png, Rect[] Tiles) Composite(params int[] headWidths)
    {
        using var astronaut = Load("astronaut.jpg");
        using var head = new Mat(astronaut, new Rect(124, 14, 200, 200));
        int width = headWidths.Sum() + 40 * (headWidths.Length + 1);
        int height = headWidths.Max() + 80;
        using var canvas = new Mat(height, width, MatType.CV_8UC3, new Scalar(128, 128, 128));
        var tiles = new Rect[headWidths.Length];
        int x = 40;
        for (int i = 0; i < headWidths.Length; i++)
        {
            tiles[i] = new Rect(x, 40, headWidths[i], headWidths[i]);
            using var scaled = head.Resize(new Size(headWidths[i], headWidths[i]), interpolation: InterpolationFlags.Area);
            using var target = new Mat(canvas, tiles[i]);
            scaled.CopyTo(target);
            x += headWidths[i] + 40;
        }
        return (Png(canvas), tiles);
    }
}
