using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>The OpenMP runtime libtesseract is linked with (libgomp); its settings here are per calling thread.</summary>
internal static partial class Omp
{
    const string Lib = "libgomp.so.1";

    [LibraryImport(Lib)]
    internal static partial int omp_get_max_active_levels();

    [LibraryImport(Lib)]
    internal static partial void omp_set_max_active_levels(int levels);
}
