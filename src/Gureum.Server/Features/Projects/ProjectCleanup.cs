using Gureum.Server.Infrastructure.Db;

namespace Gureum.Server.Features.Projects;

/// <summary>
/// Lets a capability clean up outside the database when a project is deleted (rows go by cascade; files do not).
/// It looks at the project's rows before the delete and returns what to do once the delete has committed.
/// </summary>
public interface IProjectCleanup
{
    Task<Func<Task>> BeforeDeleteAsync(GureumDb db, string projectId, CancellationToken ct);
}
