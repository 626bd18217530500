using System.Buffers.Binary;

namespace Gureum.AI.Speech;

/// <summary>
/// RIFF/WAVE parsing. Every size in the file is checked against the bytes actually there before it is used, so a lying
/// header can neither read past the buffer nor make us allocate more than the file holds.
/// </summary>
internal static class WavReader
{
    private const int Pcm = 0x0001;
    private const int Float = 0x0003;
    private const int Extensible = 0xFFFE;

    /// <summary>
    /// Data sizes from here up are what streaming writers leave when the length is unknown (ours and ffmpeg 0xFFFFFFFF,
    /// sox 0x7FFFF000, arecord 0x7FFFFFFF); no upload we accept is that long, so they mean "to the end of the file".
    /// </summary>
    private const uint StreamingPlaceholder = 0x7FFF0000;

    // KSDATAFORMAT_SUBTYPE_*: the format code followed by these 14 bytes.
    private static ReadOnlySpan<byte> SubtypeTail =>
        [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    private readonly record struct Format(int Codec, int Channels, int SampleRate, int BlockAlign, int Bits);

    public static AudioClip Read(ReadOnlySpan<byte> data, AudioLimits limits)
    {
        if (data.IsEmpty) throw new AiInputException("file", "The audio file is empty.");
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw AiInputException.Unsupported("file", data.Length >= 4 && data[..4].SequenceEqual("RF64"u8)
                ? "RF64 (WAV over 4 GB) is not supported; send a RIFF/WAVE file."
                : "Not a RIFF/WAVE file; send WAV audio (PCM or IEEE float).");

        Format? format = null;
        var offset = 12L;
        while (offset + 8 <= data.Length)
        {
            var id = data.Slice((int)offset, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice((int)offset + 4, 4));
            var body = offset + 8;
            var available = data.Length - body;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size > available) throw Bad($"The fmt chunk says {size} bytes but only {available} follow.");
                format = ParseFormat(data.Slice((int)body, (int)size), limits);
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (format is not { } f) throw Bad("The data chunk comes before the fmt chunk.");
                if (size >= StreamingPlaceholder && size > available) size = (uint)available;
                else if (size > available)
                    throw Bad($"The data chunk says {size} bytes but only {available} follow (truncated file?).");
                return Decode(data.Slice((int)body, (int)size), f, limits);
            }
            // Chunks are padded to an even size; unknown ones (LIST, fact, cue...) are skipped.
            offset = body + size + (size & 1);
        }
        throw Bad(format is null ? "No fmt chunk." : "No data chunk.");
    }

    private static Format ParseFormat(ReadOnlySpan<byte> fmt, AudioLimits limits)
    {
        if (fmt.Length < 16) throw Bad($"The fmt chunk is {fmt.Length} bytes; at least 16 are needed.");
        var codec = (int)BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        var channels = (int)BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        var rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
        var blockAlign = (int)BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
        var bits = (int)BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
        if (codec == Extensible)
        {
            if (fmt.Length < 40) throw Bad("WAVE_FORMAT_EXTENSIBLE with a fmt chunk shorter than 40 bytes.");
            if (!fmt.Slice(26, 14).SequenceEqual(SubtypeTail))
                throw AiInputException.Unsupported("file", "WAVE_FORMAT_EXTENSIBLE with a sub-format that is not PCM or IEEE float.");
            codec = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
        }
        if (codec is not (Pcm or Float))
            throw AiInputException.Unsupported("file", $"The WAV codec is {CodecName(codec)}; send PCM or IEEE float WAV.");

        if (channels == 0) throw Bad("The fmt chunk says 0 channels.");
        if (rate == 0) throw Bad("The fmt chunk says a sample rate of 0 Hz.");
        var valid = codec == Pcm ? bits is 8 or 16 or 24 or 32 : bits is 32 or 64;
        if (!valid)
            throw AiInputException.Unsupported("file", $"{bits}-bit {(codec == Pcm ? "PCM" : "float")} is not supported; " +
                "send 8, 16, 24 or 32-bit PCM or 32/64-bit float.");
        if (blockAlign != channels * bits / 8)
            throw Bad($"Block align is {blockAlign} but {channels} channels of {bits} bits need {channels * bits / 8}.");
        if (channels > limits.MaxChannels)
            throw AiInputException.TooLarge("maxChannels", $"{channels} channels; the limit is {limits.MaxChannels}.");
        if (rate > limits.MaxSampleRate)
            throw AiInputException.TooLarge("maxSampleRate", $"A sample rate of {rate} Hz; the limit is {limits.MaxSampleRate} Hz.");
        return new Format(codec, channels, (int)rate, blockAlign, bits);
    }

    private static AudioClip Decode(ReadOnlySpan<byte> pcm, Format f, AudioLimits limits)
    {
        var frames = pcm.Length / f.BlockAlign;
        var seconds = frames / (double)f.SampleRate;
        if (seconds > limits.MaxSeconds)
            throw AiInputException.TooLarge("maxSeconds", $"The audio is {seconds:0.#} s long; the limit is {limits.MaxSeconds} s.");

        var samples = new short[frames * f.Channels];
        var width = f.Bits / 8;
        for (var i = 0; i < samples.Length; i++)
        {
            var s = pcm.Slice(i * width, width);
            samples[i] = (f.Codec, f.Bits) switch
            {
                (Pcm, 8) => (short)((s[0] - 128) << 8),
                (Pcm, 16) => BinaryPrimitives.ReadInt16LittleEndian(s),
                (Pcm, 24) => (short)(s[1] | (s[2] << 8)),
                (Pcm, 32) => (short)(BinaryPrimitives.ReadInt32LittleEndian(s) >> 16),
                (_, 32) => FromFloat(BinaryPrimitives.ReadSingleLittleEndian(s)),
                _ => FromFloat(BinaryPrimitives.ReadDoubleLittleEndian(s)),
            };
        }
        return new AudioClip(samples, f.SampleRate, f.Channels);
    }

    /// <summary>Full scale ±1; out of range values clip and NaN becomes silence.</summary>
    private static short FromFloat(double v) =>
        double.IsNaN(v) ? (short)0 : (short)Math.Round(Math.Clamp(v, -1.0, 1.0) * short.MaxValue);

    private static string CodecName(int codec) => codec switch
    {
        0x0002 => "Microsoft ADPCM (0x0002)",
        0x0006 => "A-law (0x0006)",
        0x0007 => "µ-law (0x0007)",
        0x0011 => "IMA ADPCM (0x0011)",
        0x0031 => "GSM 6.10 (0x0031)",
        0x0050 => "MPEG audio (0x0050)",
        0x0055 => "MP3 (0x0055)",
        0x00FF => "AAC (0x00FF)",
        0xF1AC => "FLAC (0xF1AC)",
        _ => $"format 0x{codec:X4}",
    };

    private static AiInputException Bad(string message) => new("file", message);
}
