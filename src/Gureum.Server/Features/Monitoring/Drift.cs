using System.Globalization;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Monitoring;

public sealed record DriftBin(string Label, double? Start, double? End, double Baseline, double Live);

public sealed record FeatureDrift(
    string Name, string Type, string Severity, double Psi, double? Ks, double? ChiSquare, double? UnseenShare,
    double MissingBaseline, double MissingLive, long LiveValues, IReadOnlyList<DriftBin> Bins);

public sealed record DriftReport(
    string Endpoint, string Model, int Version, string DatasetVersion, DateTimeOffset From, DateTimeOffset To, long BaselineRows, long LiveRows,
    long SampledRequests, IReadOnlyList<FeatureDrift> Features);

/// <summary>Thresholds of <c>Gureum:Monitoring:Drift</c>: PSI, unseen-category share and missing-rate change at which a feature is moderate or high.</summary>
public sealed class DriftOptions
{
    public double PsiModerate { get; set; } = 0.1;
    public double PsiHigh { get; set; } = 0.25;
    public double UnseenModerate { get; set; } = 0.05;
    public double UnseenHigh { get; set; } = 0.2;
    public double MissingModerate { get; set; } = 0.05;
    public double MissingHigh { get; set; } = 0.2;
}

/// <summary>
/// Input drift of an AutoML endpoint: the sampled live records of a window (see the endpoint's <c>sampleRate</c>)
/// against the profile of the dataset version its model was trained on. Numerics: PSI and Kolmogorov–Smirnov over the
/// profile's histogram bins; categoricals: PSI and chi-square over the training top values plus "other", and the
/// share of live values the training data did not have among its top values; for both, the change in missing rate.
/// </summary>
public static class Drift
{
    private const int MaxSamples = 20_000;
    private const double Epsilon = 1e-4;

    public static RouteGroupBuilder MapDrift(this RouteGroupBuilder endpoints)
    {
        endpoints.MapGet("/{name}/drift", Report).RequireScope(Scopes.ProjectRead)
            .WithSummary("Input drift per feature over ?window (or ?from&to): PSI, KS or chi-square, unseen categories, missing rate, a severity, and histograms of training vs live")
            .WithStandardErrors(422);
        return endpoints;
    }

    private static async Task<Ok<DriftReport>> Report(ProjectScope scope, string name, string? window, string? from, string? to, GureumDb db, DriftOptions options,
        TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var (start, end) = MonitoringEndpoints.Range(window, from, to, clock.GetUtcNow());
        return TypedResults.Ok(await ComputeAsync(db, endpoint, start, end, options, ct));
    }

    /// <summary>The drift report of an endpoint over [start, end): also what alert rules and retraining triggers read.</summary>
    public static async Task<DriftReport> ComputeAsync(GureumDb db, InferenceEndpoint endpoint, DateTimeOffset start, DateTimeOffset end, DriftOptions options,
        CancellationToken ct)
    {
        var spec = EndpointSpec.FromJson(endpoint.Spec);
        ResolvedDeployment primary;
        try
        {
            primary = (await Deployments.ResolveAsync(db, endpoint.ProjectId, spec, ct)).Where(d => !d.Deployment.Shadow).OrderByDescending(d => d.Deployment.Weight ?? 1).First();
        }
        catch (DeploymentException e)
        {
            throw new GureumException(ProblemCode.Unprocessable, e.Message);
        }
        if (!Deployments.IsAutoMl(primary.Version) || primary.Version.DatasetVersionId is not { } datasetVersionId)
        {
            throw new GureumException(ProblemCode.Unprocessable,
                $"Drift needs a training baseline: '{primary.Model.Name}' version {primary.Version.Version} was not trained by Gureum from a dataset version. Deploy an AutoML model.");
        }
        var baseline = await db.Set<DatasetVersion>().AsNoTracking().FirstOrDefaultAsync(v => v.Id == datasetVersionId, ct)
            ?? throw new GureumException(ProblemCode.Unprocessable, "The dataset version this model was trained on was deleted; there is no baseline to compare with.");
        var profile = baseline.ReadProfile();
        var inputs = Registry.RegistryStore.ReadSignature(primary.Version).Inputs.Select(i => i.Name).ToList();

        var samples = await db.Set<PredictionSample>().AsNoTracking()
            .Where(s => s.EndpointId == endpoint.Id && s.ProjectId == endpoint.ProjectId && !s.Shadow && s.Status == 200 && s.At >= start && s.At < end)
            .OrderByDescending(s => s.Id).Take(MaxSamples).Select(s => s.Input).ToListAsync(ct);
        var live = inputs.ToDictionary(i => i, _ => new List<JsonElement>());
        long liveRows = 0;
        foreach (var input in samples)
        {
            try
            {
                using var document = JsonDocument.Parse(input);
                if (!document.RootElement.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array) continue;
                foreach (var record in records.EnumerateArray())
                {
                    liveRows++;
                    foreach (var feature in inputs)
                    {
                        live[feature].Add(record.TryGetProperty(feature, out var v) ? v.Clone() : default);
                    }
                }
            }
            catch (JsonException)
            {
                // A sample cut at its size bound: skipped.
            }
        }
        var features = profile.Columns.Where(c => live.ContainsKey(c.Name))
            .Select(c => Compare(c, live[c.Name], profile.RowCount, options))
            .OrderByDescending(f => Rank(f.Severity)).ThenByDescending(f => f.Psi)
            .ToList();
        return new DriftReport(endpoint.Name, primary.Model.Name, primary.Version.Version, baseline.Id, start, end, profile.RowCount, liveRows,
            samples.Count, features);
    }

    private static int Rank(string severity) => severity switch { "high" => 3, "moderate" => 2, "none" => 1, _ => 0 };

    private static FeatureDrift Compare(ColumnProfile column, List<JsonElement> values, long baselineRows, DriftOptions options)
    {
        var missingBaseline = baselineRows == 0 ? 0 : (double)column.Missing / baselineRows;
        var present = values.Where(v => v.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
            && !(v.ValueKind == JsonValueKind.String && v.GetString()!.Length == 0)).ToList();
        var missingLive = values.Count == 0 ? 0 : 1 - (double)present.Count / values.Count;
        if (values.Count == 0)
        {
            return new FeatureDrift(column.Name, column.Type.ToString().ToLowerInvariant(), "no-data", 0, null, null, null, missingBaseline, 0, 0, []);
        }
        var numeric = column.Histogram is { Count: > 0 };
        double psi;
        double? ks = null, chi = null, unseen = null;
        var bins = new List<DriftBin>();
        if (numeric)
        {
            var histogram = column.Histogram!;
            var total = Math.Max(1, histogram.Sum(b => b.Count));
            var counts = new long[histogram.Count];
            foreach (var v in present)
            {
                if (!TryNumber(v, out var x)) continue;
                var i = histogram.Count - 1;
                for (var b = 0; b < histogram.Count; b++)
                {
                    if (x < histogram[b].End || b == histogram.Count - 1) { i = b; break; }
                }
                counts[i]++;
            }
            var liveTotal = Math.Max(1, counts.Sum());
            double cumBase = 0, cumLive = 0, maxGap = 0;
            for (var b = 0; b < histogram.Count; b++)
            {
                var e = (double)histogram[b].Count / total;
                var a = (double)counts[b] / liveTotal;
                cumBase += e;
                cumLive += a;
                maxGap = Math.Max(maxGap, Math.Abs(cumBase - cumLive));
                bins.Add(new DriftBin(string.Create(CultureInfo.InvariantCulture, $"{histogram[b].Start:G4}–{histogram[b].End:G4}"), histogram[b].Start, histogram[b].End, Math.Round(e, 6), Math.Round(a, 6)));
            }
            psi = Psi(bins);
            ks = Math.Round(maxGap, 6);
        }
        else
        {
            var top = column.TopValues ?? [];
            var known = top.ToDictionary(t => t.Value, t => t.Count, StringComparer.Ordinal);
            var baseTotal = Math.Max(1, column.Count - column.Missing);
            var other = Math.Max(0, baseTotal - top.Sum(t => t.Count));
            var liveCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            long liveOther = 0;
            foreach (var v in present)
            {
                var text = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
                if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) text = v.GetBoolean() ? "true" : "false";
                if (known.ContainsKey(text)) liveCounts[text] = liveCounts.GetValueOrDefault(text) + 1;
                else liveOther++;
            }
            var liveTotal = Math.Max(1, present.Count);
            foreach (var t in top)
            {
                bins.Add(new DriftBin(t.Value, null, null, Math.Round((double)t.Count / baseTotal, 6), Math.Round((double)liveCounts.GetValueOrDefault(t.Value) / liveTotal, 6)));
            }
            bins.Add(new DriftBin("(other)", null, null, Math.Round((double)other / baseTotal, 6), Math.Round((double)liveOther / liveTotal, 6)));
            psi = Psi(bins);
            chi = Math.Round(bins.Sum(b => Math.Pow(b.Live * liveTotal - Math.Max(b.Baseline, Epsilon) * liveTotal, 2) / (Math.Max(b.Baseline, Epsilon) * liveTotal)), 4);
            unseen = Math.Round((double)liveOther / liveTotal, 6);
        }
        var severity = Severity(psi, unseen, Math.Abs(missingLive - missingBaseline), options);
        return new FeatureDrift(column.Name, column.Type.ToString().ToLowerInvariant(), severity, Math.Round(psi, 6), ks, chi, unseen,
            Math.Round(missingBaseline, 6), Math.Round(missingLive, 6), present.Count, bins);
    }

    private static double Psi(IEnumerable<DriftBin> bins) =>
        bins.Sum(b => (Math.Max(b.Live, Epsilon) - Math.Max(b.Baseline, Epsilon)) * Math.Log(Math.Max(b.Live, Epsilon) / Math.Max(b.Baseline, Epsilon)));

    private static string Severity(double psi, double? unseen, double missingChange, DriftOptions o)
    {
        if (psi >= o.PsiHigh || unseen >= o.UnseenHigh || missingChange >= o.MissingHigh) return "high";
        if (psi >= o.PsiModerate || unseen >= o.UnseenModerate || missingChange >= o.MissingModerate) return "moderate";
        return "none";
    }

    private static bool TryNumber(JsonElement v, out double x)
    {
        x = 0;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetDouble(out x),
            JsonValueKind.String => double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out x),
            JsonValueKind.True => (x = 1) == 1,
            JsonValueKind.False => true,
            _ => false,
        };
    }
}
