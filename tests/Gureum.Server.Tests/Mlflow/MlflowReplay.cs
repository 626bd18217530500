using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Mlflow;

/// <summary>
/// Replays documented-examples.json: requests with their <c>{{placeholders}}</c> filled from earlier captures, responses
/// matched partially (the language is described in the file's "matching" section). One replay keeps its captures, so
/// the examples run in order as one story; a mismatch is reported with the example's name and the replay goes on.
/// </summary>
public sealed partial class MlflowReplay
{
    public static string ExamplesPath { get; } =
        Path.Combine(Repository.Root, "tests", "Gureum.Server.Tests", "Mlflow", "documented-examples.json");

    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };

    public Dictionary<string, JsonNode> Variables { get; private set; } = new(StringComparer.Ordinal);

    public static JsonArray LoadExamples() =>
        JsonNode.Parse(File.ReadAllText(ExamplesPath), NodeOptions)!["examples"]!.AsArray();

    // ------------------------------------------------------------------ replay

    /// <summary>Runs every example against <paramref name="client"/> with <paramref name="prefix"/> before each path; returns the mismatches.</summary>
    public async Task<List<string>> ReplayAsync(HttpClient client, string prefix, JsonArray examples)
    {
        var failures = new List<string>();
        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i]!.AsObject();
            var label = $"#{i} '{example["name"]}'";
            try
            {
                var errors = await RunAsync(client, prefix, example);
                failures.AddRange(errors.Select(e => $"{label}: {e}"));
            }
            catch (UnboundVariableException e)
            {
                failures.Add($"{label}: not run, {e.Message}");
            }
        }
        return failures;
    }

    private async Task<List<string>> RunAsync(HttpClient client, string prefix, JsonObject example)
    {
        var request = example["request"]!.AsObject();
        using var message = BuildRequest(request, prefix);
        using var response = await client.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        var expected = example["response"]!.AsObject();
        var errors = new List<string>();
        var status = (int)response.StatusCode;
        var wanted = expected["status"]!.GetValue<int>();
        if (status != wanted)
        {
            errors.Add($"{message.Method} {message.RequestUri}: expected status {wanted}, got {status}");
        }
        if (expected["raw_body"] is { } raw)
        {
            if (text != raw.GetValue<string>())
            {
                errors.Add($"raw body: expected {Quote(raw.GetValue<string>())}, got {Quote(text)}");
            }
        }
        else if (expected["body"] is { } body)
        {
            JsonNode? actual;
            try
            {
                actual = JsonNode.Parse(text, NodeOptions);
            }
            catch (JsonException)
            {
                errors.Add($"body is not JSON: {Quote(text)}");
                return errors;
            }
            var vars = new Dictionary<string, JsonNode>(Variables, StringComparer.Ordinal);
            var bodyErrors = new List<string>();
            Match(body, actual, present: true, "$", bodyErrors, vars);
            if (bodyErrors.Count == 0)
            {
                Variables = vars;
            }
            else
            {
                errors.AddRange(bodyErrors);
            }
        }
        if (errors.Count > 0)
        {
            errors.Add($"(response was {status}: {Quote(text)})");
        }
        return errors;
    }

    public HttpRequestMessage BuildRequest(JsonObject request, string prefix)
    {
        var method = new HttpMethod(request["method"]!.GetValue<string>());
        var url = new StringBuilder(prefix.TrimEnd('/')).Append(SubstituteText(request["path"]!.GetValue<string>()));
        if (request["query"] is JsonObject query)
        {
            var separator = '?';
            foreach (var (key, value) in query)
            {
                var values = value is JsonArray array ? array.Select(v => v) : [value];
                foreach (var v in values)
                {
                    var s = Substitute(v) is JsonValue sv ? ScalarText(sv) : throw new InvalidDataException($"query '{key}' must be a scalar");
                    url.Append(separator).Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(s));
                    separator = '&';
                }
            }
        }
        var message = new HttpRequestMessage(method, url.ToString());
        if (request["raw_body_file"] is { } file)
        {
            // A file from ../shared/testdata (a real model, since the registry validates what it registers).
            message.Content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(Repository.Root, "..", "shared", "testdata", file.GetValue<string>())));
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        else if (request["raw_body"] is { } raw)
        {
            message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(SubstituteText(raw.GetValue<string>())));
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        else if (request["body"] is { } body)
        {
            message.Content = new StringContent(Substitute(body)!.ToJsonString(), Encoding.UTF8, "application/json");
        }
        return message;
    }

    // ------------------------------------------------------------------ substitution (requests)

    /// <summary>A copy of <paramref name="template"/> with captures, $now, $repeat and $generate filled in.</summary>
    public JsonNode? Substitute(JsonNode? template, int? index = null)
    {
        switch (template)
        {
            case null:
                return null;
            case JsonObject obj when obj["$generate"] is { } count:
                {
                    var item = obj["item"];
                    var array = new JsonArray();
                    for (var i = 0; i < count.GetValue<int>(); i++)
                    {
                        array.Add(Substitute(item, i));
                    }
                    return array;
                }
            case JsonObject obj:
                {
                    var copy = new JsonObject();
                    foreach (var (key, value) in obj)
                    {
                        copy[key] = Substitute(value, index);
                    }
                    return copy;
                }
            case JsonArray array:
                return new JsonArray(array.Select(v => Substitute(v, index)).ToArray());
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                {
                    var s = value.GetValue<string>();
                    var whole = WholePlaceholder(s);
                    if (whole is not null)
                    {
                        if (whole == "$now")
                        {
                            return JsonValue.Create(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                        }
                        if (whole == "$i" && index is { } n)
                        {
                            return JsonValue.Create(n);
                        }
                        if (!whole.StartsWith('$'))
                        {
                            return Lookup(whole).DeepClone();
                        }
                    }
                    return JsonValue.Create(SubstituteText(s, index));
                }
            default:
                return template.DeepClone();
        }
    }

    public string SubstituteText(string s, int? index = null) => PlaceholderPattern().Replace(s, m =>
    {
        var inner = m.Groups[1].Value;
        if (inner == "$i" && index is { } n)
        {
            return n.ToString(CultureInfo.InvariantCulture);
        }
        if (inner == "$now")
        {
            return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        }
        if (inner.StartsWith("$repeat:", StringComparison.Ordinal))
        {
            var parts = inner.Split(':', 3);
            return string.Concat(Enumerable.Repeat(parts[2], int.Parse(parts[1], CultureInfo.InvariantCulture)));
        }
        if (inner.StartsWith('$'))
        {
            throw new InvalidDataException($"'{{{{{inner}}}}}' is not usable in a request");
        }
        return Lookup(inner) is JsonValue v ? ScalarText(v) : Lookup(inner).ToJsonString();
    });

    private JsonNode Lookup(string name) =>
        Variables.TryGetValue(name, out var value) ? value : throw new UnboundVariableException($"'{name}' was never captured (an earlier example failed)");

    private sealed class UnboundVariableException(string message) : InvalidOperationException(message);

    // ------------------------------------------------------------------ matching (responses)

    /// <summary>Matches <paramref name="actual"/> (absent when !<paramref name="present"/>) against <paramref name="expected"/>; binds captures into <paramref name="vars"/>.</summary>
    public static bool Match(JsonNode? expected, JsonNode? actual, bool present, string path, List<string> errors, Dictionary<string, JsonNode> vars)
    {
        var before = errors.Count;
        MatchCore(expected, actual, present, path, errors, vars);
        return errors.Count == before;
    }

    private static void MatchCore(JsonNode? expected, JsonNode? actual, bool present, string path, List<string> errors, Dictionary<string, JsonNode> vars)
    {
        switch (expected)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                MatchString(value.GetValue<string>(), actual, present, path, errors, vars);
                return;
            case JsonObject obj when obj.ContainsKey("$not-contains"):
                if (!present || actual is null)
                {
                    return;
                }
                if (actual is not JsonArray notArray)
                {
                    errors.Add($"{path}: expected an array, got {Show(actual)}");
                    return;
                }
                foreach (var item in obj["$not-contains"]!.AsArray())
                {
                    if (notArray.Any(a => Match(item, a, true, path, [], new Dictionary<string, JsonNode>(vars, StringComparer.Ordinal))))
                    {
                        errors.Add($"{path}: expected no item like {Show(item)}, got {Show(actual)}");
                    }
                }
                return;
            case JsonObject obj when obj.ContainsKey("$contains") || obj.ContainsKey("$unordered") || obj.ContainsKey("$length"):
                {
                    if (!present || actual is not JsonArray array)
                    {
                        errors.Add($"{path}: expected an array, got {Show(actual, present)}");
                        return;
                    }
                    if (obj["$length"] is { } length && array.Count != length.GetValue<int>())
                    {
                        errors.Add($"{path}: expected {length} items, got {array.Count}: {Show(actual)}");
                    }
                    var items = (obj["$contains"] ?? obj["$unordered"])?.AsArray();
                    if (items is null)
                    {
                        return;
                    }
                    if (obj.ContainsKey("$unordered") && array.Count != items.Count)
                    {
                        errors.Add($"{path}: expected {items.Count} items in any order, got {array.Count}: {Show(actual)}");
                        return;
                    }
                    var used = new bool[array.Count];
                    foreach (var item in items)
                    {
                        var found = false;
                        for (var i = 0; i < array.Count && !found; i++)
                        {
                            if (used[i])
                            {
                                continue;
                            }
                            var trial = new Dictionary<string, JsonNode>(vars, StringComparer.Ordinal);
                            if (Match(item, array[i], true, $"{path}[{i}]", [], trial))
                            {
                                used[i] = found = true;
                                foreach (var (k, v) in trial)
                                {
                                    vars[k] = v;
                                }
                            }
                        }
                        if (!found)
                        {
                            errors.Add($"{path}: no item matches {Show(item)} in {Show(actual)}");
                        }
                    }
                    return;
                }
            case JsonObject obj:
                {
                    if (!present || actual is not JsonObject actualObj)
                    {
                        errors.Add($"{path}: expected an object, got {Show(actual, present)}");
                        return;
                    }
                    foreach (var (key, value) in obj)
                    {
                        if (key == "$exact")
                        {
                            continue;
                        }
                        var has = actualObj.TryGetPropertyValue(key, out var child);
                        MatchCore(value, child, has, $"{path}.{key}", errors, vars);
                    }
                    if (obj["$exact"]?.GetValue<bool>() == true)
                    {
                        foreach (var (key, _) in actualObj)
                        {
                            if (!obj.ContainsKey(key))
                            {
                                errors.Add($"{path}: unexpected field '{key}'");
                            }
                        }
                    }
                    return;
                }
            case JsonArray expectedArray:
                {
                    if (!present || actual is not JsonArray array)
                    {
                        errors.Add($"{path}: expected an array, got {Show(actual, present)}");
                        return;
                    }
                    if (array.Count != expectedArray.Count)
                    {
                        errors.Add($"{path}: expected {expectedArray.Count} items, got {array.Count}: {Show(actual)}");
                        return;
                    }
                    for (var i = 0; i < array.Count; i++)
                    {
                        MatchCore(expectedArray[i], array[i], true, $"{path}[{i}]", errors, vars);
                    }
                    return;
                }
            case null:
                if (present && actual is not null)
                {
                    errors.Add($"{path}: expected null, got {Show(actual)}");
                }
                return;
            default:
                if (!present || !ScalarEquals(expected, actual))
                {
                    errors.Add($"{path}: expected {Show(expected)}, got {Show(actual, present)}");
                }
                return;
        }
    }

    private static void MatchString(string expected, JsonNode? actual, bool present, string path, List<string> errors, Dictionary<string, JsonNode> vars)
    {
        var whole = WholePlaceholder(expected);
        if (whole is not null)
        {
            MatchPlaceholder(whole, actual, present, path, errors, vars);
            return;
        }
        if (!present || actual is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            errors.Add($"{path}: expected the string {Quote(expected)}, got {Show(actual, present)}");
            return;
        }
        var text = v.GetValue<string>();
        if (!PlaceholderPattern().IsMatch(expected))
        {
            if (text != expected)
            {
                errors.Add($"{path}: expected {Quote(expected)}, got {Quote(text)}");
            }
            return;
        }
        // A pattern: literal text, bound captures as their text, unbound captures as groups, checks as wildcards.
        var pattern = new StringBuilder("^");
        var groups = new List<string>();
        var last = 0;
        foreach (Match m in PlaceholderPattern().Matches(expected))
        {
            pattern.Append(Regex.Escape(expected[last..m.Index]));
            var (name, _) = SplitCapture(m.Groups[1].Value);
            if (name is null)
            {
                pattern.Append("(.+?)");
            }
            else if (vars.TryGetValue(name, out var bound))
            {
                pattern.Append(Regex.Escape(bound is JsonValue bv ? ScalarText(bv) : bound.ToJsonString()));
            }
            else if (groups.Contains(name))
            {
                pattern.Append($"\\k<g{groups.IndexOf(name)}>");
            }
            else
            {
                pattern.Append($"(?<g{groups.Count}>.+?)");
                groups.Add(name);
            }
            last = m.Index + m.Length;
        }
        pattern.Append(Regex.Escape(expected[last..])).Append('$');
        var match = Regex.Match(text, pattern.ToString(), RegexOptions.CultureInvariant);
        if (!match.Success)
        {
            errors.Add($"{path}: expected {Quote(Describe(expected, vars))}, got {Quote(text)}");
            return;
        }
        for (var i = 0; i < groups.Count; i++)
        {
            vars[groups[i]] = JsonValue.Create(match.Groups[$"g{i}"].Value);
        }
    }

    private static void MatchPlaceholder(string inner, JsonNode? actual, bool present, string path, List<string> errors, Dictionary<string, JsonNode> vars)
    {
        var (name, check) = SplitCapture(inner);
        if (name is not null && vars.TryGetValue(name, out var bound))
        {
            if (!present || !ScalarEquals(bound, actual) && !JsonNode.DeepEquals(bound, actual))
            {
                errors.Add($"{path}: expected {Show(bound)} (captured as '{name}'), got {Show(actual, present)}");
            }
            return;
        }
        var problem = Check(check ?? "$any", actual, present);
        if (problem is not null)
        {
            errors.Add($"{path}: {problem}");
            return;
        }
        if (name is not null)
        {
            vars[name] = actual!.DeepClone();
        }
    }

    /// <summary>Null when <paramref name="actual"/> passes <paramref name="check"/>, else why not.</summary>
    private static string? Check(string check, JsonNode? actual, bool present)
    {
        var kind = present && actual is not null ? actual.GetValueKind() : JsonValueKind.Undefined;
        var str = kind == JsonValueKind.String ? actual!.GetValue<string>() : null;
        bool ok;
        switch (check)
        {
            case "$absent":
                ok = kind switch
                {
                    JsonValueKind.Undefined or JsonValueKind.Null => true,
                    JsonValueKind.String => str!.Length == 0,
                    JsonValueKind.Array => actual!.AsArray().Count == 0,
                    JsonValueKind.Object => actual!.AsObject().Count == 0,
                    _ => false,
                };
                return ok ? null : $"expected nothing (absent, null or empty), got {Show(actual)}";
            case "$any":
                ok = kind is not JsonValueKind.Undefined and not JsonValueKind.Null && str is not "";
                break;
            case "$any-string":
                ok = str is { Length: > 0 };
                break;
            case "$any-number":
                ok = kind == JsonValueKind.Number;
                break;
            case "$timestamp":
                ok = kind == JsonValueKind.Number && long.TryParse(actual!.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms) && ms >= 1_000_000_000_000L;
                break;
            case "$hex32":
                ok = str is not null && Hex32().IsMatch(str);
                break;
            case "$numeric-string":
                ok = str is not null && Digits().IsMatch(str);
                break;
            default:
                if (check.StartsWith("$contains:", StringComparison.Ordinal))
                {
                    ok = str is not null && str.Contains(check["$contains:".Length..], StringComparison.OrdinalIgnoreCase);
                    break;
                }
                throw new InvalidDataException($"unknown check '{check}'");
        }
        return ok ? null : $"expected {check}, got {Show(actual, present)}";
    }

    /// <summary>"name" → (name, null); "name:$check" → (name, $check); "$check" → (null, $check).</summary>
    private static (string? Name, string? Check) SplitCapture(string inner)
    {
        if (inner.StartsWith('$'))
        {
            return (null, inner);
        }
        var colon = inner.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (inner, null) : (inner[..colon], inner[(colon + 1)..]);
    }

    private static string? WholePlaceholder(string s)
    {
        var m = PlaceholderPattern().Match(s);
        return m.Success && m.Index == 0 && m.Length == s.Length ? m.Groups[1].Value : null;
    }

    private static bool ScalarEquals(JsonNode? expected, JsonNode? actual)
    {
        if (expected is not JsonValue e || actual is not JsonValue a)
        {
            return expected is null && actual is null;
        }
        var (ek, ak) = (e.GetValueKind(), a.GetValueKind());
        if (ek == JsonValueKind.Number && ak == JsonValueKind.Number)
        {
            return Number(e) == Number(a);
        }
        return ek == ak && ScalarText(e) == ScalarText(a);
    }

    private static double Number(JsonValue v) => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string ScalarText(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String => v.GetValue<string>(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => v.ToJsonString(),
    };

    private static string Describe(string pattern, Dictionary<string, JsonNode> vars) => PlaceholderPattern().Replace(pattern, m =>
    {
        var (name, _) = SplitCapture(m.Groups[1].Value);
        return name is not null && vars.TryGetValue(name, out var v) && v is JsonValue sv ? ScalarText(sv) : m.Value;
    });

    private static string Show(JsonNode? node, bool present = true)
    {
        if (!present)
        {
            return "nothing (field absent)";
        }
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 400 ? text[..400] + "…" : text;
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quote(string text) => JsonSerializer.Serialize(text.Length > 600 ? text[..600] + "…" : text, Readable);

    // ------------------------------------------------------------------ lint (the file itself)

    /// <summary>Structural problems of the examples file: missing fields, unknown checks, captures used before they are made.</summary>
    public static List<string> Lint(JsonArray examples)
    {
        var problems = new List<string>();
        var captured = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < examples.Count; i++)
        {
            var label = $"#{i}";
            if (examples[i] is not JsonObject example)
            {
                problems.Add($"{label}: not an object");
                continue;
            }
            var name = example["name"]?.GetValue<string>();
            label = $"#{i} '{name}'";
            if (string.IsNullOrWhiteSpace(name) || !names.Add(name))
            {
                problems.Add($"{label}: needs a unique name");
            }
            if (string.IsNullOrWhiteSpace(example["source"]?.GetValue<string>()))
            {
                problems.Add($"{label}: needs a source");
            }
            if (example["request"] is not JsonObject request || request["method"] is null || request["path"]?.GetValue<string>() is not { } path || !path.StartsWith("/api/2.0/", StringComparison.Ordinal))
            {
                problems.Add($"{label}: needs request.method and a request.path under /api/2.0/");
                continue;
            }
            if (example["response"] is not JsonObject response || response["status"] is null)
            {
                problems.Add($"{label}: needs response.status");
                continue;
            }
            foreach (var used in Placeholders(request).Where(p => !p.StartsWith('$')))
            {
                if (!captured.Contains(used))
                {
                    problems.Add($"{label}: uses '{used}' before any example captures it");
                }
            }
            foreach (var p in Placeholders(response))
            {
                var (capture, check) = SplitCapture(p);
                if (check is not null && check is not ("$absent" or "$any" or "$any-string" or "$any-number" or "$timestamp" or "$hex32" or "$numeric-string")
                    && !check.StartsWith("$contains:", StringComparison.Ordinal))
                {
                    problems.Add($"{label}: unknown check '{check}'");
                }
                if (capture is not null)
                {
                    captured.Add(capture);
                }
            }
        }
        return problems;
    }

    private static IEnumerable<string> Placeholders(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(p => Placeholders(p.Value)),
        JsonArray array => array.SelectMany(Placeholders),
        JsonValue v when v.GetValueKind() == JsonValueKind.String =>
            PlaceholderPattern().Matches(v.GetValue<string>()).Select(m => m.Groups[1].Value),
        _ => [],
    };

    [GeneratedRegex(@"\{\{([^{}]+)\}\}")]
    private static partial Regex PlaceholderPattern();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex Hex32();

    [GeneratedRegex("^[0-9]+$")]
    private static partial Regex Digits();
}
