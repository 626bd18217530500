using System.Runtime.CompilerServices;

namespace Gureum.WebConsole.Tests;

internal static class NativeLibrariesFirst
{
    /// <summary>The playground tests draw images with OpenCV; the OCR libraries must be loaded before it (see NativeLoadOrder).</summary>
    [ModuleInitializer]
    internal static void Load() => Gureum.AI.Native.NativeLoadOrder.LoadOcrLibrariesFirst();
}
