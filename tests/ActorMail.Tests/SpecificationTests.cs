using ActorMail.Configuration;
using Akka.Configuration;

namespace ActorMail.Tests;

/// <summary>
/// docs/E1_specification.md states every limit and timeout with its HOCON key and its value as
/// written in hocon/actormail.conf; these tests keep the table and the shipped file equal.
/// </summary>
public sealed class SpecificationTests
{
    private const string Specification = "docs/E1_specification.md";
    private const string KeyHeader = "HOCON key";
    private const string ValueHeader = "value in hocon/actormail.conf";

    private static readonly string[] CheckedPrefixes = ["actormail.", "akka."];
    private static readonly string[] EnumeratedSections = ["actormail.smtp", "actormail.pop3", "actormail.store", "actormail.auth", "actormail.http", "actormail.journal", "actormail.tls", "actormail.cluster"];
    private static readonly string[] RequiredKeys = ["actormail.shutdown-timeout", "actormail.log-flush-interval", "actormail.log-file-size-limit", "actormail.log-files-kept"];

    [Fact]
    public void Every_limit_in_the_specification_has_the_value_of_the_shipped_hocon()
    {
        var rows = LimitRows();
        var config = ShippedConfig();

        var problems = new List<string>();
        foreach (var (key, documented) in rows)
        {
            if (!config.HasPath(key))
            {
                problems.Add($"{key}: in {Specification} but not in hocon/actormail.conf");
                continue;
            }

            var shipped = Shipped(config, key);
            if (!string.Equals(shipped, documented, StringComparison.Ordinal))
            {
                problems.Add($"{key}: {Specification} says '{documented}', hocon/actormail.conf says '{shipped}'");
            }
        }

        if (problems.Count > 0)
        {
            Assert.Fail($"{problems.Count} limit(s) differ:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
        }
    }

    [Fact]
    public void Every_smtp_pop3_and_store_key_and_the_top_level_timeouts_are_in_the_specification()
    {
        var documented = LimitRows().Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        var config = ShippedConfig();

        var shipped = new List<string>(RequiredKeys);
        foreach (var section in EnumeratedSections)
        {
            var keys = (config.GetConfig(section) ?? throw new InvalidOperationException($"hocon/actormail.conf has no {section} section"))
                .AsEnumerable()
                .Select(kv => $"{section}.{kv.Key}")
                .ToList();
            if (keys.Count == 0)
            {
                Assert.Fail($"hocon/actormail.conf: {section} has no keys");
            }

            shipped.AddRange(keys);
        }

        var missing = shipped.Where(key => !documented.Contains(key)).ToList();
        if (missing.Count > 0)
        {
            Assert.Fail($"{missing.Count} key(s) of hocon/actormail.conf missing from the limits table of {Specification}:{Environment.NewLine}{string.Join(Environment.NewLine, missing)}");
        }
    }

    // A list is written as in the HOCON: [a, b], or [] when empty (Akka's HOCON does not call an
    // empty list an array, and reads it as an empty string); an empty string ("") as nothing.
    private static string Shipped(Config config, string key)
    {
        var value = config.GetString(key);
        var hocon = config.GetValue(key);
        return !hocon.IsString() && (hocon.IsArray() || (string.IsNullOrEmpty(value) && config.GetStringList(key).Count == 0))
            ? $"[{string.Join(", ", config.GetStringList(key))}]"
            : value;
    }

    private static Config ShippedConfig() => NodeConfig.Load(environment: new Dictionary<string, string?>());

    // The rows of the table whose header has a "HOCON key" column, keyed by that column and
    // valued by the "value in hocon/actormail.conf" column, backticks removed.
    private static List<(string Key, string Value)> LimitRows()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), Specification));
        var header = Array.FindIndex(lines, line => IsTableRow(line) && Cells(line).Contains(KeyHeader));
        if (header < 0)
        {
            Assert.Fail($"{Specification} has no table with a '{KeyHeader}' column");
        }

        var headerCells = Cells(lines[header]);
        var keyColumn = headerCells.IndexOf(KeyHeader);
        var valueColumn = headerCells.IndexOf(ValueHeader);
        if (valueColumn < 0)
        {
            Assert.Fail($"{Specification}: the limits table has no '{ValueHeader}' column");
        }

        var rows = new List<(string Key, string Value)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = header + 2; i < lines.Length && IsTableRow(lines[i]); i++)
        {
            var cells = Cells(lines[i]);
            if (cells.Count <= Math.Max(keyColumn, valueColumn))
            {
                Assert.Fail($"{Specification} line {i + 1} has too few cells: {lines[i]}");
            }

            var key = cells[keyColumn];
            if (!CheckedPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                continue;
            }

            if (!seen.Add(key))
            {
                Assert.Fail($"{Specification}: {key} appears twice in the limits table");
            }

            rows.Add((key, cells[valueColumn]));
        }

        if (rows.Count == 0)
        {
            Assert.Fail($"{Specification}: the limits table has no row with an actormail. or akka. key");
        }

        return rows;
    }

    private static bool IsTableRow(string line) => line.TrimStart().StartsWith('|');

    private static List<string> Cells(string line) =>
        [.. line.Trim().Trim('|').Split('|').Select(cell => cell.Replace("`", string.Empty, StringComparison.Ordinal).Trim())];

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ActorMail.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds ActorMail.sln");
    }
}
