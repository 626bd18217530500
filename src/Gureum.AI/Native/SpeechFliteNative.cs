using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>Flite 2.2 (libflite1). Voices live in their own libraries, loaded by name at run time.</summary>
internal static unsafe partial class FliteNative
{
    public const string Lib = "libflite.so.1";

    /// <summary>cst_wave.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Wave
    {
        public IntPtr Type;
        public int SampleRate;
        public int NumSamples;
        public int NumChannels;
        public short* Samples;
    }

    /// <summary>The head of cst_voice: its feature set is what flite_feat_set_* changes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct VoiceHead
    {
        public IntPtr Name;
        public IntPtr Features;
    }

    [LibraryImport(Lib, EntryPoint = "flite_init")]
    public static partial int Init();

    [LibraryImport(Lib, EntryPoint = "flite_text_to_wave")]
    public static partial Wave* TextToWave(byte* text, IntPtr voice);

    [LibraryImport(Lib, EntryPoint = "delete_wave")]
    public static partial void DeleteWave(Wave* wave);

    /// <summary>Keeps <paramref name="name"/> itself, not a copy: pass memory that outlives the voice.</summary>
    [LibraryImport(Lib, EntryPoint = "flite_feat_set_float")]
    public static partial void FeatSetFloat(IntPtr features, IntPtr name, float value);
}
