using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>eSpeak NG 1.51 (libespeak-ng1). Global state: callers serialise every call.</summary>
internal static unsafe partial class ESpeakNative
{
    private const string Lib = "libespeak-ng.so.1";

    public const int OutputSynchronous = 1;      // ENOUTPUT_MODE_SYNCHRONOUS
    public const int ParameterRate = 1;          // espeakRATE, words per minute
    public const int ParameterPitch = 3;         // espeakPITCH, 0–100
    public const int PositionCharacter = 1;      // POS_CHARACTER
    public const uint CharsUtf8 = 1;             // espeakCHARS_UTF8 (no SSML, no phoneme input)

    /// <summary>espeak_VOICE; only the fields we read are typed.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct VoiceInfo
    {
        public byte* Name;
        public byte* Languages;   // (priority byte, NUL-terminated language)*, then a 0 byte
        public byte* Identifier;
        public byte Gender;       // 0 unknown, 1 male, 2 female
        public byte Age;
        public byte Variant;
        public byte Xx1;
        public int Score;
        public void* Spare;
    }

    [LibraryImport(Lib, EntryPoint = "espeak_ng_InitializePath", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void InitializePath(string? path);

    /// <summary>Unlike espeak_Initialize, reports missing data as a status instead of calling exit().</summary>
    [LibraryImport(Lib, EntryPoint = "espeak_ng_Initialize")]
    public static partial int Initialize(out IntPtr errorContext);

    [LibraryImport(Lib, EntryPoint = "espeak_ng_ClearErrorContext")]
    public static partial void ClearErrorContext(ref IntPtr errorContext);

    [LibraryImport(Lib, EntryPoint = "espeak_ng_InitializeOutput")]
    public static partial int InitializeOutput(int mode, int bufferMs, IntPtr device);

    [LibraryImport(Lib, EntryPoint = "espeak_ng_GetSampleRate")]
    public static partial int GetSampleRate();

    [LibraryImport(Lib, EntryPoint = "espeak_SetSynthCallback")]
    public static partial void SetSynthCallback(delegate* unmanaged<short*, int, IntPtr, int> callback);

    [LibraryImport(Lib, EntryPoint = "espeak_ListVoices")]
    public static partial VoiceInfo** ListVoices(IntPtr voiceSpec);

    [LibraryImport(Lib, EntryPoint = "espeak_SetVoiceByName", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetVoiceByName(string name);

    [LibraryImport(Lib, EntryPoint = "espeak_SetParameter")]
    public static partial int SetParameter(int parameter, int value, int relative);

    [LibraryImport(Lib, EntryPoint = "espeak_Synth")]
    public static partial int Synth(byte* text, nuint size, uint position, int positionType, uint endPosition, uint flags,
        IntPtr uniqueId, IntPtr userData);
}
