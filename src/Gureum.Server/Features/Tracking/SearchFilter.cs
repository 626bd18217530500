using System.Globalization;
using System.Text;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Tracking;

/// <summary>
/// MLflow's search syntax: comparisons joined by AND, e.g.
/// <c>metrics.rmse &lt; 1 and params.alpha = '0.5' and tags."my tag" LIKE 'a%' and attributes.status IN ('FINISHED')</c>.
/// Keys may be quoted with ", ' or `; a bare key without a prefix is an attribute (<c>name</c>, <c>status</c>, …).
/// Also the <c>order_by</c> terms: <c>metrics.rmse ASC</c>.
/// </summary>
public sealed record FilterClause(string Kind, string Key, string Op, string? Text, double? Number, IReadOnlyList<string>? List);

public sealed record OrderTerm(string Kind, string Key, bool Ascending);

public static class SearchFilter
{
    public const int MaxLength = 4000;
    private static readonly string[] Operators = ["<=", ">=", "!=", "=", "<", ">"];

    public static List<FilterClause> Parse(string? filter, string field = "filter")
    {
        var clauses = new List<FilterClause>();
        if (string.IsNullOrWhiteSpace(filter))
        {
            return clauses;
        }
        if (filter.Length > MaxLength)
        {
            throw Invalid(field, $"'{field}' is longer than {MaxLength} characters.");
        }
        var reader = new Reader(filter, field);
        while (true)
        {
            var (kind, key) = reader.Key();
            var op = reader.Operator();
            FilterClause clause;
            if (op == "IN" || op == "NOT IN")
            {
                clause = new FilterClause(kind, key, op, null, null, reader.List());
            }
            else if (reader.TryString(out var text))
            {
                clause = new FilterClause(kind, key, op, text, null, null);
            }
            else
            {
                var number = reader.Number();
                clause = new FilterClause(kind, key, op, null, number, null);
            }
            clauses.Add(clause);
            reader.SkipSpace();
            if (reader.AtEnd)
            {
                return clauses;
            }
            reader.ExpectWord("AND");
        }
    }

    public static List<OrderTerm> ParseOrder(IEnumerable<string>? orderBy, string field = "order_by")
    {
        var terms = new List<OrderTerm>();
        foreach (var term in orderBy ?? [])
        {
            var reader = new Reader(term, field);
            var (kind, key) = reader.Key();
            reader.SkipSpace();
            var ascending = true;
            if (!reader.AtEnd)
            {
                var word = reader.Word().ToUpperInvariant();
                ascending = word switch
                {
                    "ASC" => true,
                    "DESC" => false,
                    _ => throw Invalid(field, $"'{field}' term '{term}' must end with ASC or DESC, or nothing."),
                };
                reader.SkipSpace();
                if (!reader.AtEnd)
                {
                    throw Invalid(field, $"'{field}' term '{term}' has unexpected text after the direction.");
                }
            }
            terms.Add(new OrderTerm(kind, key, ascending));
        }
        return terms;
    }

    private static GureumException Invalid(string field, string message) => GureumException.Invalid(field, message);

    private sealed class Reader(string text, string field)
    {
        private int _at;

        public bool AtEnd => _at >= text.Length;

        public void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at])) _at++;
        }

        public (string Kind, string Key) Key()
        {
            SkipSpace();
            string first;
            if (TryQuoted(out var quoted))
            {
                first = quoted;
            }
            else
            {
                first = Identifier();
            }
            if (_at < text.Length && text[_at] == '.' && first.ToLowerInvariant() is "metrics" or "metric" or "params" or "param" or "parameters" or "parameter" or "tags" or "tag" or "attributes" or "attribute" or "attr" or "run")
            {
                _at++;
                var key = TryQuoted(out var q) ? q : Identifier();
                var kind = first.ToLowerInvariant() switch
                {
                    "metrics" or "metric" => "metric",
                    "params" or "param" or "parameters" or "parameter" => "param",
                    "tags" or "tag" => "tag",
                    _ => "attribute",
                };
                return (kind, key);
            }
            return ("attribute", first);
        }

        private string Identifier()
        {
            var start = _at;
            while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] is '_' or '-' or ':' or '/' || (text[_at] == '.' && start != _at && !IsPrefix(text[start.._at]))))
            {
                _at++;
            }
            if (_at == start)
            {
                throw Invalid(field, $"'{field}' expected a key such as metrics.rmse at position {start + 1}.");
            }
            return text[start.._at];
        }

        private static bool IsPrefix(string word) => word.ToLowerInvariant() is "metrics" or "metric" or "params" or "param" or "parameters"
            or "parameter" or "tags" or "tag" or "attributes" or "attribute" or "attr" or "run";

        private bool TryQuoted(out string value)
        {
            value = "";
            if (_at >= text.Length || text[_at] is not ('"' or '`'))
            {
                return false;
            }
            return TryDelimited(out value);
        }

        private bool TryDelimited(out string value)
        {
            var quote = text[_at];
            var builder = new StringBuilder();
            var i = _at + 1;
            while (i < text.Length)
            {
                if (text[i] == quote)
                {
                    if (i + 1 < text.Length && text[i + 1] == quote)
                    {
                        builder.Append(quote);
                        i += 2;
                        continue;
                    }
                    _at = i + 1;
                    value = builder.ToString();
                    return true;
                }
                builder.Append(text[i++]);
            }
            throw Invalid(field, $"'{field}' has an unterminated quote starting at position {_at + 1}.");
        }

        public string Operator()
        {
            SkipSpace();
            foreach (var op in Operators)
            {
                if (string.CompareOrdinal(text, _at, op, 0, op.Length) == 0)
                {
                    _at += op.Length;
                    return op;
                }
            }
            var word = Word().ToUpperInvariant();
            if (word == "NOT")
            {
                SkipSpace();
                return Word().ToUpperInvariant() == "IN" ? "NOT IN" : throw Invalid(field, $"'{field}': NOT must be followed by IN.");
            }
            return word is "LIKE" or "ILIKE" or "IN" ? word
                : throw Invalid(field, $"'{field}' has an unknown operator '{word}'; use =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN.");
        }

        public string Word()
        {
            SkipSpace();
            var start = _at;
            while (_at < text.Length && char.IsLetter(text[_at])) _at++;
            return text[start.._at];
        }

        public void ExpectWord(string word)
        {
            if (!Word().Equals(word, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(field, $"'{field}' comparisons must be joined by AND (OR is not supported), near position {_at + 1}.");
            }
        }

        public bool TryString(out string value)
        {
            SkipSpace();
            value = "";
            return _at < text.Length && text[_at] is '\'' or '"' && TryDelimited(out value);
        }

        public double Number()
        {
            SkipSpace();
            var start = _at;
            while (_at < text.Length && (char.IsDigit(text[_at]) || text[_at] is '.' or '-' or '+' or 'e' or 'E')) _at++;
            return double.TryParse(text[start.._at], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                ? number
                : throw Invalid(field, $"'{field}' expected a number or a quoted string at position {start + 1}.");
        }

        public List<string> List()
        {
            SkipSpace();
            if (_at >= text.Length || text[_at] != '(')
            {
                throw Invalid(field, $"'{field}': IN must be followed by a list such as ('a', 'b').");
            }
            _at++;
            var values = new List<string>();
            while (true)
            {
                values.Add(TryString(out var value) ? value : throw Invalid(field, $"'{field}': IN lists hold quoted strings."));
                SkipSpace();
                if (_at < text.Length && text[_at] == ',')
                {
                    _at++;
                    continue;
                }
                if (_at < text.Length && text[_at] == ')')
                {
                    _at++;
                    return values;
                }
                throw Invalid(field, $"'{field}': the IN list is not closed.");
            }
        }
    }
}
