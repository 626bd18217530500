namespace Gureum.Server.Features.Nodes;

/// <summary>
/// How many nodes answer calls right now, as this node's last heartbeat saw them (1 outside cluster mode). Rate limits
/// are enforced as an equal share per node: with N nodes behind a balancer each node grants a key 1/N of its rate.
/// </summary>
public sealed class LiveNodes
{
    private int _count = 1;

    public int Count => Volatile.Read(ref _count);

    internal void Set(int count) => Volatile.Write(ref _count, Math.Max(1, count));
}
