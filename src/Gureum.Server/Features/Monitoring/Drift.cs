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

/// <summary>
/// The drift of an endpoint over a window. <c>prediction</c>: the drift of the served version's predictions (named
/// <c>(prediction)</c>) against its training baseline, which <c>predictionBaseline</c> names (<c>test-split-predictions</c>
/// or <c>training-target</c>); null when the version has no training report. Its <c>liveValues</c> counts the
/// predictions of that version only.
/// </summary>
public sealed record DriftReport(
    string Endpoint, string Model, int Version, string DatasetVersion, DateTimeOffset From, DateTimeOffset To, long BaselineRows, long LiveRows,
    long SampledRequests, IReadOnlyList<FeatureDrift> Features, FeatureDrift? Prediction = null, string? PredictionBaseline = null);

/// <summary>
/// <c>Gureum:Monitoring:Drift</c>: the PSI, unseen-category share and missing-rate change at which a feature is moderate
/// or high, and how much of a window one report reads.
/// </summary>
public sealed class DriftOptions
{
    public double PsiModerate { get; set; } = 0.1;
    public double PsiHigh { get; set; } = 0.25;
    public double UnseenModerate { get; set; } = 0.05;
    public double UnseenHigh { get; set; } = 0.2;
    public double MissingModerate { get; set; } = 0.05;
    public double MissingHigh { get; set; } = 0.2;
    /// <summary>At most this many live records are read, from the newest sampled request back (whole requests).</summary>
    public long MaxRows { get; set; } = 2_000_000;
    /// <summary>Threads that parse sampled requests (0: one per core, at most 4); one more reads the database.</summary>
    public int Workers { get; set; }
}

/// <summary>
/// Input drift of an AutoML endpoint: the sampled live records of a window (see the endpoint's <c>sampleRate</c>)
/// against the profile of the dataset version its model was trained on. Numerics: PSI and Kolmogorov–Smirnov over the
/// profile's histogram bins; categoricals: PSI and chi-square over the training top values plus "other", and the
/// share of live values the training data did not have among its top values; for both, the change in missing rate.
/// The same for the version's predictions against its training baseline (<see cref="DriftPrediction"/>). The window is
/// streamed (<see cref="DriftScan"/>): counts per bin are all it keeps, so memory does not grow with the rows.
/// </summary>
public static class Drift
{
    private const double Epsilon = 1e-4;

    public static RouteGroupBuilder MapDrift(this RouteGroupBuilder endpoints)
    {
        endpoints.MapGet("/{name}/drift", Report).RequireScope(Scopes.ProjectRead)
            .WithSummary("Drift over ?window (or ?from&to) of each input feature and of the predictions, against the training data: PSI, KS or chi-square, unseen categories, missing rate, a severity, and histograms of training vs live")
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
        var inputs = Registry.RegistryStore.ReadSignature(primary.Version).Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var columns = profile.Columns.Where(c => inputs.Contains(c.Name)).DistinctBy(c => c.Name).ToList();
        var prediction = await DriftPrediction.BaselineAsync(db, primary.Version, profile, ct);
        var layout = new DriftLayout(columns.Select(Target).ToList(), prediction is null ? null : Target(prediction.Column), prediction?.Field);

        var samples = db.Set<PredictionSample>().AsNoTracking()
            .Where(s => s.EndpointId == endpoint.Id && s.ProjectId == endpoint.ProjectId && !s.Shadow && s.Status == 200 && s.At >= start && s.At < end)
            // Newest first in the order of the (endpoint, time) index, which holds the id too: read straight off it,
            // with no sort that would copy every sample of the window before the first one is counted.
            .OrderByDescending(s => s.At).ThenByDescending(s => s.Id);
        var workers = options.Workers > 0 ? options.Workers : Math.Clamp(Environment.ProcessorCount, 1, 4);
        var counts = await DriftScan.CountAsync(db, samples, layout, primary.Model.Name, primary.Version.Version, Math.Max(1, options.MaxRows), workers, ct);

        var features = columns
            .Select((c, i) => Compare(c, counts.Rows, counts.Present(layout.Features[i]), counts.Bins(layout.Features[i]), profile.RowCount, options))
            .OrderByDescending(f => Rank(f.Severity)).ThenByDescending(f => f.Psi)
            .ToList();
        var predictionDrift = prediction is null ? null
            : Compare(prediction.Column, counts.PredictionRows, counts.Present(layout.Prediction!), counts.Bins(layout.Prediction!), prediction.Column.Count, options,
                keepEmptyOther: false);
        return new DriftReport(endpoint.Name, primary.Model.Name, primary.Version.Version, baseline.Id, start, end, profile.RowCount, counts.Rows,
            counts.Samples, features, predictionDrift, prediction?.Source);
    }

    private static DriftTarget Target(ColumnProfile column) => column.Histogram is { Count: > 0 } histogram
        ? DriftTarget.Numbers(column.Name, [.. histogram.Select(b => b.End)])
        : DriftTarget.Categories(column.Name, (column.TopValues ?? []).Select(t => t.Value));

    private static int Rank(string severity) => severity switch { "high" => 3, "moderate" => 2, "none" => 1, _ => 0 };

    /// <summary>
    /// One column's drift from its live counts: <paramref name="present"/> values of <paramref name="rows"/> were not
    /// missing; <paramref name="counts"/> per histogram bin (numeric) or per top value then "other" (categorical).
    /// <paramref name="keepEmptyOther"/>: false leaves out an "other" bin that is empty on both sides.
    /// </summary>
    private static FeatureDrift Compare(ColumnProfile column, long rows, long present, long[] counts, long baselineRows, DriftOptions options, bool keepEmptyOther = true)
    {
        var missingBaseline = baselineRows == 0 ? 0 : (double)column.Missing / baselineRows;
        var missingLive = rows == 0 ? 0 : 1 - (double)present / rows;
        if (rows == 0)
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
            var baseTotal = Math.Max(1, column.Count - column.Missing);
            var other = Math.Max(0, baseTotal - top.Sum(t => t.Count));
            var liveOther = counts[^1];
            var liveTotal = Math.Max(1, present);
            for (var t = 0; t < top.Count; t++)
            {
                bins.Add(new DriftBin(top[t].Value, null, null, Math.Round((double)top[t].Count / baseTotal, 6), Math.Round((double)counts[t] / liveTotal, 6)));
            }
            if (keepEmptyOther || other > 0 || liveOther > 0)
            {
                bins.Add(new DriftBin("(other)", null, null, Math.Round((double)other / baseTotal, 6), Math.Round((double)liveOther / liveTotal, 6)));
            }
            psi = Psi(bins);
            chi = Math.Round(bins.Sum(b => Math.Pow(b.Live * liveTotal - Math.Max(b.Baseline, Epsilon) * liveTotal, 2) / (Math.Max(b.Baseline, Epsilon) * liveTotal)), 4);
            unseen = Math.Round((double)liveOther / liveTotal, 6);
        }
        var severity = Severity(psi, unseen, Math.Abs(missingLive - missingBaseline), options);
        return new FeatureDrift(column.Name, column.Type.ToString().ToLowerInvariant(), severity, Math.Round(psi, 6), ks, chi, unseen,
            Math.Round(missingBaseline, 6), Math.Round(missingLive, 6), present, bins);
    }

    private static double Psi(IEnumerable<DriftBin> bins) =>
        bins.Sum(b => (Math.Max(b.Live, Epsilon) - Math.Max(b.Baseline, Epsilon)) * Math.Log(Math.Max(b.Live, Epsilon) / Math.Max(b.Baseline, Epsilon)));

    private static string Severity(double psi, double? unseen, double missingChange, DriftOptions o)
    {
        if (psi >= o.PsiHigh || unseen >= o.UnseenHigh || missingChange >= o.MissingHigh) return "high";
        if (psi >= o.PsiModerate || unseen >= o.UnseenModerate || missingChange >= o.MissingModerate) return "moderate";
        return "none";
    }
}
