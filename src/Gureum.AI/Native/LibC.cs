using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>glibc calls .NET does not make: its Environment API changes only a managed copy of the environment.</summary>
internal static partial class LibC
{
    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GetEnvPointer(string name);

    internal static string? GetEnv(string name) => Marshal.PtrToStringUTF8(GetEnvPointer(name));
}
