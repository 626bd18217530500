using Gureum.AI.Ocr;

namespace Gureum.AI.Faces;

/// <param name="Confidence">0–1.</param>
public sealed record DetectedFace(BoundingBox Box, double Confidence);

/// <summary>
/// OpenCV face detector on Debian's opencv-data models; one per pool worker. Constructor throws
/// <see cref="EngineUnavailableException"/> when OpenCV's native runtime or the model files are missing.
/// </summary>
public sealed class FaceDetector : IDisposable
{
    public FaceDetector() => throw new NotImplementedException();

    /// <summary>Detects faces in an already probed image (PNG/JPEG/TIFF/BMP bytes).</summary>
    public IReadOnlyList<DetectedFace> Detect(ReadOnlySpan<byte> image, int minFaceSize) => throw new NotImplementedException();

    public void Dispose() { }
}
