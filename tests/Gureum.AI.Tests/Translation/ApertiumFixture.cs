using Gureum.AI.Translation;

namespace Gureum.AI.Tests.Translation;

/// <summary>One eng→spa and one spa→eng pipeline shared by a test class: starting one loads ~190 MB of data.</summary>
public sealed class ApertiumFixture : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public ApertiumPipeline EngSpa { get; } = new(ApertiumPipeline.Resolve("eng", "spa"));
    public ApertiumPipeline SpaEng { get; } = new(ApertiumPipeline.Resolve("spa", "eng"));

    public void Dispose()
    {
        EngSpa.Dispose();
        SpaEng.Dispose();
    }
}
