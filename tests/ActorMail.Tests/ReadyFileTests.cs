using System.Text.Json;
using ActorMail.Hosting;

namespace ActorMail.Tests;

/// <summary>The ready file of <c>serve --ready-file</c>: the addresses a node on port 0 bound, written whole.</summary>
public sealed class ReadyFileTests
{
    [Fact]
    public async Task A_node_on_port_0_names_the_ports_the_system_chose()
    {
        await using var node = await TestNode.StartAsync();
        var path = Path.Combine(node.Directory, "ready.json");

        await ReadyFile.WriteAsync(path, 4242, node.Node, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, node.HttpPort));

        using var ready = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        Assert.NotEqual(0, node.SmtpPort);
        Assert.NotEqual(0, node.Pop3Port);
        Assert.Equal(4242, ready.RootElement.GetProperty("pid").GetInt32());
        Assert.Equal($"127.0.0.1:{node.SmtpPort}", ready.RootElement.GetProperty("smtp").GetString());
        Assert.Equal($"127.0.0.1:{node.Pop3Port}", ready.RootElement.GetProperty("pop3").GetString());
        Assert.Equal($"127.0.0.1:{node.HttpPort}", ready.RootElement.GetProperty("http").GetString());
        Assert.Equal(["ready.json"], Directory.GetFiles(node.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_protocol_the_role_does_not_serve_is_null_and_an_old_file_is_replaced()
    {
        await using var node = await TestNode.StartAsync("actormail.role = smtp");
        var path = Path.Combine(node.Directory, "ready.json");
        await File.WriteAllTextAsync(path, "left by an earlier run, and longer than the new file will be");

        await ReadyFile.WriteAsync(path, 7, node.Node);

        using var ready = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        Assert.Equal($"127.0.0.1:{node.SmtpPort}", ready.RootElement.GetProperty("smtp").GetString());
        Assert.Equal(JsonValueKind.Null, ready.RootElement.GetProperty("pop3").ValueKind);
        Assert.Equal(JsonValueKind.Null, ready.RootElement.GetProperty("http").ValueKind);
    }
}
