using System.Runtime.CompilerServices;

namespace Gureum.AI.Tests;

internal static class NativeLibrariesFirst
{
    /// <summary>Tests draw images with OpenCV; the OCR libraries must be loaded before it (see NativeLoadOrder).</summary>
    [ModuleInitializer]
    internal static void Load() => Gureum.AI.Native.NativeLoadOrder.LoadOcrLibrariesFirst();
}
