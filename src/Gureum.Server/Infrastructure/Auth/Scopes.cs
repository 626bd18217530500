namespace Gureum.Server.Infrastructure.Auth;

/// <summary>
/// Scope names and what each implies. admin ⊇ everything, on every project; project:write ⊇ project:read,
/// predict and ai; predict and ai are narrow keys for applications that only call models or AI APIs.
/// </summary>
public static class Scopes
{
    public const string Admin = "admin";
    public const string ProjectWrite = "project:write";
    public const string ProjectRead = "project:read";
    public const string Predict = "predict";
    public const string Ai = "ai";

    public static readonly IReadOnlyList<string> All = [Admin, ProjectWrite, ProjectRead, Predict, Ai];

    public static bool IsKnown(string scope) => All.Contains(scope);

    /// <summary>True when a key holding <paramref name="granted"/> may do what <paramref name="required"/> allows.</summary>
    public static bool Satisfies(IEnumerable<string> granted, string required) => granted.Any(g => Implies(g, required));

    private static bool Implies(string granted, string required) => granted == required || granted switch
    {
        Admin => true,
        ProjectWrite => required is ProjectRead or Predict or Ai,
        _ => false,
    };
}
