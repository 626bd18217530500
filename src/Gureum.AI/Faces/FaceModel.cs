using System.Xml;

namespace Gureum.AI.Faces;

/// <summary>Debian's opencv-data cascade the detector uses, and what the confidence is measured against.</summary>
internal static class FaceModel
{
    public const string Packages = "opencv-data libgtk-3-0";

    /// <summary>
    /// alt2: on Debian's sample photos it found every frontal face with the fewest false positives (default fired on
    /// coins, a retina and the moon; LBP was 2× faster but boxed only part of the face and fired on a cat).
    /// </summary>
    public const string FileName = "haarcascade_frontalface_alt2.xml";

    /// <summary>opencv-data's directory, then the older Debian one and a source build's.</summary>
    private static readonly string[] Directories =
        ["/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades", "/usr/local/share/opencv4/haarcascades"];

    public static string Find() => Find(Directories);

    public static string Find(IEnumerable<string> directories) =>
        directories.Select(d => Path.Combine(d, FileName)).FirstOrDefault(File.Exists)
        ?? throw new EngineUnavailableException("faces", Packages, $"The face model {FileName} (opencv-data) is not installed.");

    /// <summary>
    /// The threshold of the cascade's last stage. With outputRejectLevels OpenCV reports, for each face, the sum
    /// that stage gave it: the margin above this threshold is how sure the detector was.
    /// </summary>
    public static double LastStageThreshold(string path)
    {
        double? last = null;
        using var reader = XmlReader.Create(path);
        while (reader.ReadToFollowing("stageThreshold"))
            last = reader.ReadElementContentAsDouble();
        return last ?? throw new FormatException($"{Path.GetFileName(path)} has no stageThreshold: not a boosted cascade");
    }
}
