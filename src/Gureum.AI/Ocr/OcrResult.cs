namespace Gureum.AI.Ocr;

/// <summary>Pixels from the top-left corner of the page image.</summary>
public readonly record struct BoundingBox(int X, int Y, int Width, int Height);

/// <param name="Confidence">0–100 as Tesseract reports it.</param>
public sealed record OcrWord(string Text, BoundingBox Box, float Confidence);

public sealed record OcrLine(string Text, BoundingBox Box, float Confidence, IReadOnlyList<OcrWord> Words);

/// <param name="Number">1-based.</param>
public sealed record OcrPage(int Number, int Width, int Height, string Text, float Confidence, IReadOnlyList<OcrLine> Lines);
