using Gureum.Server.Features.Projects;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// A monthly allowance, set by an operator (admin key): at most <see cref="Limit"/> units of <see cref="Meter"/> on
/// <see cref="Service"/> per UTC month, for the whole project or for one key. Meter <c>spend</c> caps the month's
/// cost in the price list's currency instead. Service <c>*</c> means every service; <c>predict</c> every endpoint.
/// </summary>
public sealed class Quota
{
    public const string Spend = "spend";

    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public string? KeyId { get; init; }
    public required string Service { get; init; }
    public required string Meter { get; init; }
    public double Limit { get; init; }

    /// <summary>Usage by this key of this service counts against the quota (whatever the meter).</summary>
    public bool Covers(string keyId, string service) => (KeyId is null || KeyId == keyId) && ServicePattern.Covers(Service, service);

    /// <summary>A call of this key, service and meter is held against the quota.</summary>
    public bool Applies(string keyId, string service, string meter) => Covers(keyId, service) && (Meter == meter || Meter == Spend);

    /// <summary>How full the quota is, from the usage it covers (per service and meter): units of its meter, or their cost.</summary>
    public double Fill(PriceList prices, IEnumerable<(string Service, string Meter, double Quantity)> covered) =>
        Meter == Spend ? (double)Invoicing.Cost(prices, covered) : covered.Where(c => c.Meter == Meter).Sum(c => c.Quantity);
}

/// <summary>
/// A token bucket per key: <see cref="RequestsPerSecond"/> refill and <see cref="Burst"/> capacity, for requests to
/// <see cref="Service"/> (<c>*</c>: all services share one bucket; <c>predict</c>: all endpoints share one). A rule
/// with no key applies to each key of the project separately.
/// </summary>
public sealed class RateLimitRule
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public string? KeyId { get; init; }
    public required string Service { get; init; }
    public double RequestsPerSecond { get; init; }
    public int Burst { get; init; }
}

/// <summary>Server-wide settings changed through the API (the price list), as JSON under a name.</summary>
public sealed class ServerSetting
{
    public required string Name { get; init; }
    public required string Json { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class QuotaConfiguration : IEntityTypeConfiguration<Quota>
{
    public void Configure(EntityTypeBuilder<Quota> b)
    {
        b.ToTable("quotas");
        b.HasKey(q => q.Id);
        b.Property(q => q.KeyId).HasMaxLength(26);
        b.Property(q => q.Service).HasMaxLength(128);
        b.Property(q => q.Meter).HasMaxLength(32);
        b.HasIndex(q => q.ProjectId);
        b.HasOne<Project>().WithMany().HasForeignKey(q => q.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RateLimitRuleConfiguration : IEntityTypeConfiguration<RateLimitRule>
{
    public void Configure(EntityTypeBuilder<RateLimitRule> b)
    {
        b.ToTable("rate_limits");
        b.HasKey(r => r.Id);
        b.Property(r => r.KeyId).HasMaxLength(26);
        b.Property(r => r.Service).HasMaxLength(128);
        b.HasIndex(r => r.ProjectId);
        b.HasOne<Project>().WithMany().HasForeignKey(r => r.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ServerSettingConfiguration : IEntityTypeConfiguration<ServerSetting>
{
    public void Configure(EntityTypeBuilder<ServerSetting> b)
    {
        b.ToTable("server_settings");
        b.HasKey(s => s.Name);
        b.Property(s => s.Name).HasMaxLength(64);
    }
}

/// <summary>Which services a rule's or quota's service pattern covers.</summary>
public static class ServicePattern
{
    public const string Any = "*";
    public const string Predict = "predict";

    public static bool Covers(string pattern, string service) =>
        pattern == Any || pattern == service || (pattern == Predict && service.StartsWith("predict:", StringComparison.Ordinal));

    /// <summary>More specific patterns win: exact, then predict, then *.</summary>
    public static int Specificity(string pattern) => pattern switch { Any => 0, Predict => 1, _ => 2 };

    public static bool IsValid(string? pattern) =>
        !string.IsNullOrEmpty(pattern) && pattern.Length <= 128 && pattern.All(c => char.IsAsciiLetterOrDigit(c) || c is '*' or ':' or '-' or '_' or '.')
        && (pattern == Any || !pattern.Contains('*'));
}
