namespace Gureum.Server.Infrastructure.Cluster;

/// <summary>
/// <c>Gureum:Cluster</c>: with <see cref="Enabled"/> (<c>--cluster</c>) the node joins an Orleans cluster whose
/// membership lives in the PostgreSQL metadata database; every node of one cluster names the same database, the same
/// <see cref="ClusterId"/> and a shared artifact directory (<c>--artifacts</c>).
/// </summary>
public sealed class ClusterOptions
{
    public const string Section = "Gureum:Cluster";

    public bool Enabled { get; set; }
    public string ClusterId { get; set; } = "gureum";
    public string ServiceId { get; set; } = "gureum";
    /// <summary>The address other nodes reach this node's silo on.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
    /// <summary>How long a silo may miss membership probes before the others declare it dead (detection time).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// <c>Gureum:Node</c>: what this node offers besides what it measures (cores, memory, GPUs): labels such as
/// <c>zone=edge</c>, <c>region=kr-south</c>, <c>sovereign=true</c> (<c>--label KEY=VALUE</c>, repeatable).
/// </summary>
public sealed class NodeOptions
{
    public const string Section = "Gureum:Node";

    public Dictionary<string, string> Labels { get; set; } = [];
}
