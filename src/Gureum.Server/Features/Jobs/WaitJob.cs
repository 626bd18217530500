using System.Globalization;
using System.Text.Json;

namespace Gureum.Server.Features.Jobs;

/// <summary>
/// <c>diagnostics.wait</c>: waits <c>steps</c> × <c>stepMilliseconds</c>, checkpointing after each step. It does no
/// work of its own; it lets an operator check the job fabric end to end (progress, events, cancel, resume after a
/// restart) without spending a training budget. The result says from which step it resumed.
/// </summary>
internal sealed class WaitJob(TimeProvider clock) : IJobHandler
{
    public string Kind => "diagnostics.wait";
    public bool UserSubmittable => true;

    private sealed record Input(int Steps, int StepMilliseconds);

    public string? Validate(JsonElement? input)
    {
        if (input is not { ValueKind: JsonValueKind.Object } obj)
        {
            return "'input' must be an object like {\"steps\": 10, \"stepMilliseconds\": 500}.";
        }
        var (steps, ms) = Read(obj);
        if (steps is < 1 or > 100_000)
        {
            return "'input.steps' must be an integer between 1 and 100000.";
        }
        return ms is < 0 or > 60_000 ? "'input.stepMilliseconds' must be an integer between 0 and 60000." : null;
    }

    public async Task<JsonElement?> RunAsync(JobContext context, CancellationToken ct)
    {
        var (steps, ms) = Read(context.Input!.Value);
        var resumedFrom = context.Checkpoint is null ? 0 : int.Parse(context.Checkpoint, CultureInfo.InvariantCulture);
        for (var step = resumedFrom + 1; step <= steps; step++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ms), clock, ct);
            await context.ReportProgressAsync(100.0 * step / steps, $"step {step} of {steps}", step.ToString(CultureInfo.InvariantCulture));
        }
        return JsonSerializer.SerializeToElement(new { steps, resumedFromStep = resumedFrom, attempts = context.Attempt });
    }

    private static (int Steps, int StepMilliseconds) Read(JsonElement input) => (
        Integer(input, "steps") ?? -1,
        input.TryGetProperty("stepMilliseconds", out _) ? Integer(input, "stepMilliseconds") ?? -1 : 1000);

    private static int? Integer(JsonElement input, string name) =>
        input.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;
}
