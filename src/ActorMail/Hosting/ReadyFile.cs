using System.Net;
using System.Text.Json;

namespace ActorMail.Hosting;

/// <summary>
/// The file <c>serve --ready-file PATH</c> writes once every listener of the process's role is
/// bound: the process id and the address each listener bound, so a parent that asked for port 0
/// learns the ports the system chose, and knows that a connection made from now on is served.
/// </summary>
public static class ReadyFile
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// The file's text, e.g. <c>{"pid":7,"smtp":"127.0.0.1:40123","pop3":null,"http":null,"cluster":null,"smtps":null,"pop3s":null}</c>:
    /// null for a protocol this process does not serve, for the cluster address of a node that runs
    /// alone, and for an implicit-TLS port that is off.
    /// </summary>
    public static string Format(int pid, EndPoint? smtp, EndPoint? pop3, EndPoint? http = null, string? cluster = null, EndPoint? smtps = null, EndPoint? pop3s = null) =>
        JsonSerializer.Serialize(new Contents(pid, smtp?.ToString(), pop3?.ToString(), http?.ToString(), cluster, smtps?.ToString(), pop3s?.ToString()), Json) + "\n";

    /// <summary>
    /// Writes the file for a node whose listeners are bound: into a temporary file beside it, then
    /// renamed over it, so a reader finds the whole file or none. <paramref name="http"/> is the
    /// address Kestrel bound, or null when this process serves no HTTP.
    /// </summary>
    public static async Task WriteAsync(string path, int pid, RunningNode node, EndPoint? http = null)
    {
        var smtp = node.SmtpListener is null ? null : await node.SmtpBound.ConfigureAwait(false);
        var pop3 = node.Pop3Listener is null ? null : await node.Pop3Bound.ConfigureAwait(false);
        var smtps = node.SmtpsBound is null ? null : await node.SmtpsBound.ConfigureAwait(false);
        var pop3s = node.Pop3sBound is null ? null : await node.Pop3sBound.ConfigureAwait(false);
        var full = Path.GetFullPath(path);
        var temporary = $"{full}.{pid}.tmp";
        await File.WriteAllTextAsync(temporary, Format(pid, smtp, pop3, http, node.ClusterEndpoint, smtps, pop3s)).ConfigureAwait(false);
        File.Move(temporary, full, overwrite: true);
    }

    private sealed record Contents(int Pid, string? Smtp, string? Pop3, string? Http, string? Cluster, string? Smtps, string? Pop3s);
}
