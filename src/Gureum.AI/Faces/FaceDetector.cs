using Gureum.AI.Ocr;
using OpenCvSharp;

namespace Gureum.AI.Faces;

/// <param name="Confidence">0–1.</param>
public sealed record DetectedFace(BoundingBox Box, double Confidence);

/// <summary>
/// OpenCV face detector on Debian's opencv-data models; one per pool worker. Constructor throws
/// <see cref="EngineUnavailableException"/> when OpenCV's native runtime or the model files are missing.
/// </summary>
public sealed class FaceDetector : IDisposable
{
    /// <summary>
    /// Longer sides are scaled down to this for speed: Haar time grows with the pixel count, and a pool worker
    /// should take a 12 MP photo in about the time of a 1 MP one. The price: in an image of side S over this, faces
    /// under about 22 × S / 1024 px (the size alt2 reliably finds, scaled back) are missed, whatever minFaceSize says.
    /// </summary>
    internal const int MaxSide = 1024;

    /// <summary>
    /// Margin over the last stage's threshold that maps to a confidence of 1 − 1/e ≈ 0.63. Measured with alt2: true
    /// faces 2.6–3.8 (0.73–0.85), the false positives seen 0.7–1.7 (0.30–0.57).
    /// </summary>
    private const double MarginScale = 2.0;

    private readonly CascadeClassifier _cascade;
    private readonly double _lastStageThreshold;
    private readonly int _window;
    private readonly Lock _gate = new();

    public FaceDetector() : this(FaceModel.Find()) { }

    internal FaceDetector(string modelPath)
    {
        Native.NativeLoadOrder.LoadOcrLibrariesFirst();
        try
        {
            _lastStageThreshold = FaceModel.LastStageThreshold(modelPath);
            _cascade = new CascadeClassifier(modelPath);
            if (_cascade.Empty())
            {
                _cascade.Dispose();
                throw new FormatException($"OpenCV could not load {Path.GetFileName(modelPath)}");
            }
            _window = Math.Max(_cascade.GetOriginalWindowSize().Width, _cascade.GetOriginalWindowSize().Height);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            throw new EngineUnavailableException("faces", FaceModel.Packages, "OpenCV's native runtime could not be loaded (is libgtk-3-0 installed?).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Xml.XmlException or FormatException or OpenCVException)
        {
            throw new EngineUnavailableException("faces", FaceModel.Packages, $"The face model is missing or unreadable: {e.Message}", e);
        }
    }

    /// <summary>Detects faces in an already probed image (PNG/JPEG/TIFF/BMP bytes).</summary>
    /// <param name="minFaceSize">
    /// Smallest face side in pixels of the original image; 0 for no minimum. No face smaller is returned. The
    /// smallest the model finds is about 22 px, proportionally more in an image over 1024 px (see <see cref="MaxSide"/>).
    /// </param>
    /// <returns>Faces in image coordinates, most confident first. Confidence is 1 − exp(−margin / 2), where margin
    /// is how far the face's score in the cascade's last stage lies above that stage's threshold.</returns>
    /// <exception cref="AiInputException">400: the bytes do not decode as an image, or minFaceSize is negative.</exception>
    public IReadOnlyList<DetectedFace> Detect(ReadOnlySpan<byte> image, int minFaceSize)
    {
        if (minFaceSize < 0)
            throw new AiInputException("minFaceSize", "minFaceSize must be 0 or a positive number of pixels.");
        using var gray = Decode(image);
        double scale = Math.Min(1.0, (double)MaxSide / Math.Max(gray.Width, gray.Height));
        using var small = new Mat();
        if (scale < 1)
            Cv2.Resize(gray, small, new Size(Math.Max(1, (int)(gray.Width * scale)), Math.Max(1, (int)(gray.Height * scale))), interpolation: InterpolationFlags.Area);
        else
            gray.CopyTo(small);
        Cv2.EqualizeHist(small, small);

        int minSize = Math.Max(_window, (int)Math.Ceiling(minFaceSize * scale));
        Rect[] rects;
        double[] weights;
        lock (_gate)
            rects = _cascade.DetectMultiScale(small, out _, out weights, scaleFactor: 1.1, minNeighbors: 3,
                HaarDetectionTypes.ScaleImage, new Size(minSize, minSize), maxSize: null, outputRejectLevels: true);

        var faces = new List<DetectedFace>(rects.Length);
        for (int i = 0; i < rects.Length; i++)
        {
            var box = ToOriginal(rects[i], scale, gray.Width, gray.Height);
            if (box.Width >= minFaceSize && box.Height >= minFaceSize)
                faces.Add(new DetectedFace(box, Confidence(weights[i])));
        }
        faces.Sort((a, b) => b.Confidence.CompareTo(a.Confidence));
        return faces;
    }

    private static Mat Decode(ReadOnlySpan<byte> image)
    {
        const string Undecodable = "The file could not be decoded as an image.";
        if (image.IsEmpty)
            throw new AiInputException("file", "The file is empty.");
        Mat gray;
        try
        {
            gray = Cv2.ImDecode(image, ImreadModes.Grayscale);
        }
        catch (OpenCVException)
        {
            throw new AiInputException("file", Undecodable);
        }
        if (gray.Empty())
        {
            gray.Dispose();
            throw new AiInputException("file", Undecodable);
        }
        return gray;
    }

    private static BoundingBox ToOriginal(Rect r, double scale, int width, int height)
    {
        int x = Math.Clamp((int)Math.Round(r.X / scale), 0, width);
        int y = Math.Clamp((int)Math.Round(r.Y / scale), 0, height);
        int w = Math.Min((int)Math.Round(r.Width / scale), width - x);
        int h = Math.Min((int)Math.Round(r.Height / scale), height - y);
        return new BoundingBox(x, y, w, h);
    }

    private double Confidence(double levelWeight) =>
        1 - Math.Exp(-Math.Max(0, levelWeight - _lastStageThreshold) / MarginScale);

    public void Dispose() => _cascade.Dispose();
}
