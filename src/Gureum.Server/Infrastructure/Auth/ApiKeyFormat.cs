using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>
/// Keys look like <c>gur_&lt;publicId&gt;_&lt;secret&gt;</c>: the public id (12 base32 characters) finds the row,
/// the secret (32 random bytes, base64url) is checked against its stored SHA-256. The secret has 256 bits of
/// entropy, so a fast hash is enough; a slow KDF would only slow every request.
/// </summary>
public static class ApiKeyFormat
{
    public const string Prefix = "gur_";
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>The public id under which a bootstrap key of a user-chosen value is stored.</summary>
    public const string BootstrapPublicId = "bootstrap";

    public static (string PublicId, string Secret, string FullKey) Generate()
    {
        Span<byte> idBytes = stackalloc byte[12];
        RandomNumberGenerator.Fill(idBytes);
        var publicId = string.Create(12, idBytes.ToArray(), (span, bytes) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Base32[bytes[i] & 31];
            }
        });
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (publicId, secret, Prefix + publicId + "_" + secret);
    }

    /// <summary>Splits a presented key; false when it is not in our format.</summary>
    public static bool TryParse(string key, out string publicId, out string secret)
    {
        publicId = secret = "";
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 200)
        {
            return false;
        }
        var rest = key.AsSpan(Prefix.Length);
        var separator = rest.IndexOf('_');
        if (separator is < 1 or > 32 || separator == rest.Length - 1)
        {
            return false;
        }
        publicId = rest[..separator].ToString();
        secret = rest[(separator + 1)..].ToString();
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string secret, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);
}
