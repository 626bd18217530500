using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gureum.Server.Infrastructure;

public static class JsonDefaults
{
    /// <summary>camelCase, enums as camelCase strings, unknown fields rejected (a typo is a 400, not a silent default).</summary>
    public static readonly JsonSerializerOptions Web = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        return options;
    }
}
