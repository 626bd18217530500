using System.CommandLine;
using Gureum.Client;

namespace Gureum.Cli;

/// <summary>The <c>ai</c> commands: the ready-made AI APIs (OCR, speech, translation, faces) on the server's engines.</summary>
internal sealed partial class Commands
{
    private Command Ai() => new("ai", "Ready-made AI APIs on the server's own engines: OCR, text to speech, speech to text, translation, face detection")
    {
        AiEngines(), AiOcr(), AiTts(), AiVoices(), AiStt(), AiTranslate(), AiFaces(),
    };

    private Command AiEngines()
    {
        var project = ProjectArgument();
        var engines = new Command("engines", "The server's AI engines: ready, starting or unavailable (with the packages to install), workers and calls waiting")
        {
            project,
        };
        Show(engines, (s, p, ct) => s.Client.EnginesAsync(p.GetValue(project)!, ct), AiViews.WriteEngines);
        return engines;
    }

    private Command AiOcr()
    {
        var project = ProjectArgument();
        var file = new Argument<string>("FILE") { Description = "An image (.png .jpg .jpeg .tif .tiff .bmp) or a .pdf" };
        var languages = new Option<string?>("--languages") { Description = "Installed languages joined by '+', e.g. eng+kor (default eng)", HelpName = "LANGS" };
        var output = new Option<string>("--out")
        {
            Description = "text: the text, page by page; json: pages, lines and words with boxes and confidence (as --json)",
            HelpName = "text|json",
            DefaultValueFactory = _ => "text",
        };
        output.AcceptOnlyFromAmong("text", "json");
        var asynchronous = AsyncOption();
        var ocr = new Command("ocr", """
            Read the text of an image or PDF; the text goes to stdout (redirect it into a file as it is).
            One page answers at once. A document of more pages runs as an operation on the server, with its progress on stderr,
            and is deleted there once its text is printed (exit code 8 if it fails).
              gureum ai ocr PROJECT scan.png --languages eng+kor
            """)
        {
            project, file, languages, output, asynchronous,
        };
        Set(ocr, async (s, p, ct) =>
        {
            var (projectName, path) = (p.GetValue(project)!, p.GetValue(file)!);
            var contentType = AiFiles.ContentType(path, GureumClient.ContentTypeForOcr);
            var answer = await s.Client.OcrAsync(projectName, AiFiles.OpenRead(path), contentType, p.GetValue(languages), p.GetValue(asynchronous), ct);
            var result = answer.Result ?? await AiOperationWait.RunAsync<OcrResult>(s, projectName, answer.Operation!, $"OCR of {Path.GetFileName(path)}", ct);
            if (result is null)
            {
                return ExitCodes.JobNotSucceeded;
            }
            if (s.Json || p.GetValue(output) == "json") s.WriteJson(result);
            else AiViews.WriteOcrText(s, result);
            return ExitCodes.Ok;
        });
        return ocr;
    }

    private Command AiTts()
    {
        var project = ProjectArgument();
        var text = new Argument<string[]>("TEXT") { Description = "The text to speak (several words are joined with spaces), or --file", Arity = ArgumentArity.ZeroOrMore };
        var file = TextFileOption("Speak the text of this UTF-8 file instead");
        var output = new Option<string>("--output", "-o") { Description = "The audio file to write (or an existing directory to write speech.wav or speech.pcm into)", HelpName = "FILE", Required = true };
        var force = ForceOption();
        var voice = new Option<string?>("--voice") { Description = "A voice id from 'gureum ai voices', e.g. flite:slt (default en-us)", HelpName = "VOICE" };
        var rate = new Option<int?>("--rate") { Description = "Words per minute, 80-450 (default 175)", HelpName = "WPM" };
        var pitch = new Option<int?>("--pitch") { Description = "0-100 (default 50)", HelpName = "N" };
        var sampleRate = new Option<int?>("--sample-rate") { Description = "Samples per second, 8000-48000 (default: the voice's own)", HelpName = "HZ" };
        var format = new Option<string>("--format") { Description = "wav, or pcm: raw 16-bit little-endian mono", HelpName = "wav|pcm", DefaultValueFactory = _ => "wav" };
        format.AcceptOnlyFromAmong("wav", "pcm");
        var tts = new Command("tts", """
            Speak text into an audio file. Long text streams to the file as it is synthesised; the file appears under its name
            only once complete, and an existing one is replaced only with --force.
              gureum ai tts PROJECT "Hello from Gureum." -o hello.wav --voice flite:slt
            """)
        {
            project, text, file, output, force, voice, rate, pitch, sampleRate, format,
        };
        Set(tts, async (s, p, ct) =>
        {
            var projectName = p.GetValue(project)!;
            var words = p.GetValue(text) ?? [];
            var spoken = (words.Length > 0, p.GetValue(file)) switch
            {
                (true, null) => string.Join(' ', words),
                (false, { } textFile) => await AiFiles.ReadTextAsync(textFile, ct),
                (true, _) => throw new UsageException("Give the text to speak or --file, not both."),
                _ => throw new UsageException("Give the text to speak, e.g. gureum ai tts PROJECT \"Hello.\" -o hello.wav, or --file FILE."),
            };
            var audioFormat = p.GetValue(format)!;
            var request = new TtsRequest(spoken, p.GetValue(voice), p.GetValue(rate), p.GetValue(pitch), audioFormat, p.GetValue(sampleRate));
            var (path, bytes, audio) = await AiFiles.SaveSpeechAsync(p.GetValue(output)!, p.GetValue(force), audioFormat,
                destination => s.Client.SpeakAsync(projectName, request, destination, ct));
            if (s.Json) s.WriteJson(new { path, sizeBytes = bytes, format = audioFormat, audio.SampleRate, seconds = AiViews.AudioSeconds(bytes, audioFormat, audio) });
            else AiViews.WriteSpeech(s, path, bytes, audioFormat, audio);
            return ExitCodes.Ok;
        });
        return tts;
    }

    private Command AiVoices()
    {
        var project = ProjectArgument();
        var voices = new Command("voices", "The voices text to speech can use, with their language and engine") { project };
        Show(voices, (s, p, ct) => s.Client.VoicesAsync(p.GetValue(project)!, ct), AiViews.WriteVoices);
        return voices;
    }

    private Command AiStt()
    {
        var project = ProjectArgument();
        var file = new Argument<string>("FILE") { Description = "A .wav file (PCM, any rate and channels)" };
        var language = new Option<string?>("--language") { Description = "An installed recognition language, e.g. en-US (default: the server's first)", HelpName = "LANG" };
        var words = new Option<bool>("--words") { Description = "Then a table of the words with their start and end times and confidence" };
        var asynchronous = AsyncOption();
        var stt = new Command("stt", """
            Transcribe speech; the text goes to stdout. Long audio runs as an operation on the server, with its progress on
            stderr, and is deleted there once its text is printed (exit code 8 if it fails).
              gureum ai stt PROJECT meeting.wav --words
            """)
        {
            project, file, language, words, asynchronous,
        };
        Set(stt, async (s, p, ct) =>
        {
            var (projectName, path) = (p.GetValue(project)!, p.GetValue(file)!);
            var contentType = AiFiles.ContentType(path, GureumClient.ContentTypeForSpeech);
            var answer = await s.Client.TranscribeAsync(projectName, AiFiles.OpenRead(path), contentType, p.GetValue(language), p.GetValue(asynchronous), ct);
            var transcript = answer.Result
                ?? await AiOperationWait.RunAsync<Transcript>(s, projectName, answer.Operation!, $"Transcription of {Path.GetFileName(path)}", ct);
            if (transcript is null)
            {
                return ExitCodes.JobNotSucceeded;
            }
            if (s.Json) s.WriteJson(transcript);
            else AiViews.WriteTranscript(s, transcript, p.GetValue(words));
            return ExitCodes.Ok;
        });
        return stt;
    }

    private Command AiTranslate()
    {
        var project = ProjectArgument();
        var texts = new Argument<string[]>("TEXT") { Description = "Texts to translate, each on its own (or --file)", Arity = ArgumentArity.ZeroOrMore };
        var from = new Option<string>("--from") { Description = "Source language as the installed pairs name it, e.g. eng", HelpName = "LANG", Required = true };
        var to = new Option<string[]>("--to")
        {
            Description = "Target language, e.g. spa (repeatable: a table with a column per target)",
            HelpName = "LANG",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var file = TextFileOption("Translate each line of this UTF-8 file instead (one translated line per line)");
        var translate = new Command("translate", """
            Translate texts between installed language pairs; with one target each translation is printed on its own line.
              gureum ai translate PROJECT --from eng --to spa "The house is big."
              gureum ai translate PROJECT --from eng --to spa --file lines.txt > lines.spa.txt
            """)
        {
            project, texts, from, to, file,
        };
        Set(translate, async (s, p, ct) =>
        {
            var given = p.GetValue(texts) ?? [];
            var lines = (given.Length > 0, p.GetValue(file)) switch
            {
                (true, null) => given,
                (false, { } textFile) => await AiFiles.ReadLinesAsync(textFile, ct),
                (true, _) => throw new UsageException("Give the texts or --file, not both."),
                _ => throw new UsageException("Give the texts to translate, e.g. gureum ai translate PROJECT --from eng --to spa \"Hello.\", or --file FILE."),
            };
            if (lines.Length == 0)
            {
                throw new UsageException($"'{p.GetValue(file)}' is empty: there is nothing to translate.");
            }
            var targets = (p.GetValue(to) ?? []).Distinct().ToList();
            var result = await s.Client.TranslateAsync(p.GetValue(project)!, lines, p.GetValue(from)!, targets, ct);
            if (s.Json) s.WriteJson(result);
            else AiViews.WriteTranslations(s, result, targets);
            return ExitCodes.Ok;
        });
        return translate;
    }

    private Command AiFaces()
    {
        var project = ProjectArgument();
        var file = new Argument<string>("IMAGE") { Description = "An image: .png .jpg .jpeg .tif .tiff .bmp" };
        var minFaceSize = new Option<int?>("--min-face-size") { Description = "Ignore faces smaller than this, 1-10000 pixels (default 24)", HelpName = "PIXELS" };
        var faces = new Command("faces", "Find the faces in an image: a box and a confidence for each") { project, file, minFaceSize };
        Set(faces, async (s, p, ct) =>
        {
            var path = p.GetValue(file)!;
            var contentType = AiFiles.ContentType(path, GureumClient.ContentTypeForFaces);
            var result = await s.Client.DetectFacesAsync(p.GetValue(project)!, AiFiles.OpenRead(path), contentType, p.GetValue(minFaceSize), ct);
            if (s.Json) s.WriteJson(result);
            else AiViews.WriteFaces(s, result);
            return ExitCodes.Ok;
        });
        return faces;
    }

    private static Option<bool> AsyncOption() => new("--async") { Description = "Run it as an operation on the server even when it is short (progress while it runs)" };

    private static Option<string?> TextFileOption(string description) => new("--file", "-f") { Description = description, HelpName = "FILE" };
}
