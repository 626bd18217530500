namespace Gureum.Server.Infrastructure;

/// <summary>Resource ids: ULIDs in lower case — URL-safe, 26 characters, sortable by creation time.</summary>
public static class Ids
{
    public static string New() => Ulid.NewUlid().ToString().ToLowerInvariant();

    public static bool LooksLikeId(string value) => value.Length == 26 && Ulid.TryParse(value, out _);
}
