using System.Text;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Session;
using static ActorMail.Hosting.SessionMessages;
using ActorMail.Smtp;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace ActorMail.Tests;

/// <summary>The SMTP session FSM with a TestProbe in place of the Akka.IO connection and of the mailbox router.</summary>
public sealed class SmtpSessionSpec : TestKit
{
    private readonly NodeOptions _options;
    private readonly string _root;

    public SmtpSessionSpec()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
        _root = Path.Combine(Path.GetTempPath(), "actormail-fsm-" + Guid.NewGuid().ToString("N")[..8]);
        _options = Options(string.Empty);
    }

    [Fact]
    public void Registers_with_the_connection_then_greets()
    {
        var connection = CreateTestProbe();
        Sys.ActorOf(SmtpSession.Props(new SessionStart(connection.Ref, "127.0.0.1:5000", "abc"), _options, _options.ToSmtpPolicy(), CreateTestProbe().Ref));
        connection.ExpectMsg<Tcp.Register>();
        Assert.StartsWith("220 localhost ESMTP", ReadWrite(connection), StringComparison.Ordinal);
    }

    [Fact]
    public void Over_the_limit_answers_421_and_closes()
    {
        var connection = CreateTestProbe();
        Sys.ActorOf(SmtpSession.Props(new SessionStart(connection.Ref, "127.0.0.1:5000", "abc", Admission.ServerFull), _options, _options.ToSmtpPolicy(), CreateTestProbe().Ref));
        connection.ExpectMsg<Tcp.Register>();
        Assert.StartsWith("421 4.7.0", ReadWrite(connection), StringComparison.Ordinal);
        connection.ExpectMsg<Tcp.Close>();
    }

    [Fact]
    public void Pipelined_commands_in_one_read_get_their_replies_in_one_write_in_order()
    {
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe());
        session.Tell(new Tcp.Received(ByteString.FromString("EHLO a\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<alice@localhost>\r\nNOOP\r\n")), connection.Ref);
        var text = ReadWrite(connection);
        var codes = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l[..4]).ToArray();
        Assert.Equal(["250-", "250-", "250-", "250-", "250-", "250 ", "250 ", "250 ", "250 "], codes);
    }

    [Fact]
    public void A_command_split_across_reads_is_answered_once_complete()
    {
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe());
        session.Tell(new Tcp.Received(ByteString.FromString("NO")), connection.Ref);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new Tcp.Received(ByteString.FromString("OP\r")), connection.Ref);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new Tcp.Received(ByteString.FromString("\n")), connection.Ref);
        Assert.Equal("250 2.0.0 OK\r\n", ReadWrite(connection));
    }

    [Fact]
    public void Input_after_the_terminator_waits_until_the_store_answers_and_reading_is_suspended()
    {
        var connection = CreateTestProbe();
        var mailboxes = CreateTestProbe();
        var session = Start(connection, mailboxes);
        session.Tell(new Tcp.Received(ByteString.FromString("HELO a\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")), connection.Ref);
        Assert.EndsWith("354 End data with <CR><LF>.<CR><LF>\r\n", ReadWrite(connection), StringComparison.Ordinal);
        session.Tell(new Tcp.Received(ByteString.FromString("hi\r\n.\r\nNO")), connection.Ref);
        var deliver = mailboxes.ExpectMsg<Store.StoreCommands.DeliverMessage>();
        Assert.Equal("bob", deliver.Mailbox);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new Tcp.Received(ByteString.FromString("OP\r\n")), connection.Ref);
        connection.ExpectMsg<Tcp.SuspendReading>();
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new Store.StoreCommands.MessageDelivered("bob", deliver.CorrelationId, "name"), mailboxes.Ref);
        var replies = ReadWrite(connection);
        Assert.StartsWith("250 2.0.0 OK: queued as abc.1\r\n250 2.0.0 OK\r\n", replies, StringComparison.Ordinal);
        connection.ExpectMsg<Tcp.ResumeReading>();
    }

    [Fact]
    public void Shutdown_while_storing_answers_the_message_first_then_421_4_3_2()
    {
        var connection = CreateTestProbe();
        var mailboxes = CreateTestProbe();
        var session = Start(connection, mailboxes);
        session.Tell(new Tcp.Received(ByteString.FromString("HELO a\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n")), connection.Ref);
        ReadWrite(connection);
        session.Tell(new Tcp.Received(ByteString.FromString("hi\r\n.\r\n")), connection.Ref);
        var deliver = mailboxes.ExpectMsg<Store.StoreCommands.DeliverMessage>();
        session.Tell(ShutdownSession.Instance);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new Store.StoreCommands.MessageDelivered("bob", deliver.CorrelationId, "name"), mailboxes.Ref);
        Assert.Equal("250 2.0.0 OK: queued as abc.1\r\n421 4.3.2 Service shutting down, closing connection\r\n", ReadWrite(connection));
        connection.ExpectMsg<Tcp.Close>();
    }

    [Fact]
    public void Shutdown_during_DATA_answers_421_4_3_2_and_keeps_no_spool_file()
    {
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe());
        session.Tell(new Tcp.Received(ByteString.FromString("HELO a\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\npartial body\r\n")), connection.Ref);
        ReadWrite(connection);
        Assert.Single(Directory.GetFiles(Path.Combine(_root, ".spool")));
        session.Tell(ShutdownSession.Instance);
        Assert.StartsWith("421 4.3.2", ReadWrite(connection), StringComparison.Ordinal);
        connection.ExpectMsg<Tcp.Close>();
        Watch(session);
        session.Tell(Tcp.Closed.Instance);
        ExpectTerminated(session);
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, ".spool")));
    }

    [Fact]
    public void Idle_timeout_answers_421_4_4_2_and_closes()
    {
        var connection = CreateTestProbe();
        var quick = Options("actormail.smtp.idle-timeout = 1s");
        Sys.ActorOf(SmtpSession.Props(new SessionStart(connection.Ref, "127.0.0.1:5000", "abc"), quick, quick.ToSmtpPolicy(), CreateTestProbe().Ref));
        connection.ExpectMsg<Tcp.Register>();
        ReadWrite(connection);
        Assert.StartsWith("421 4.4.2", ReadWrite(connection, TimeSpan.FromSeconds(5)), StringComparison.Ordinal);
        connection.ExpectMsg<Tcp.Close>();
    }

    [Fact]
    public void Replies_over_the_output_bound_wait_for_acknowledgements_and_no_input_is_taken_meanwhile()
    {
        var connection = CreateTestProbe();
        connection.IgnoreMessages(m => m is Tcp.SuspendReading or Tcp.ResumeReading);
        var session = Start(connection, CreateTestProbe(), Options("actormail.smtp.max-junk-commands = 100000"));
        // 20,000 NOOPs in one read make 280,000 octets of replies, over four times the 65536 bound.
        var noops = string.Concat(Enumerable.Repeat("NOOP\r\n", 20_000));
        session.Tell(new Tcp.Received(ByteString.FromString(noops)), connection.Ref);

        var first = connection.ExpectMsg<Tcp.Write>();
        Assert.InRange(first.Data.Count, 65536 - 100, 65536);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        var replies = first.Data.Count;
        var write = first;
        while (replies < 20_000 * 14)
        {
            session.Tell(write.Ack, connection.Ref);
            write = connection.ExpectMsg<Tcp.Write>();
            replies += write.Data.Count;
        }

        Assert.Equal(20_000 * 14, replies);
        session.Tell(new Tcp.Received(ByteString.FromString("QUIT\r\n")), connection.Ref);
        Assert.StartsWith("221", ReadWrite(connection), StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_never_acknowledged_aborts_the_connection_after_the_write_timeout()
    {
        var connection = CreateTestProbe();
        var quick = Options("actormail.smtp.write-timeout = 1s");
        var session = Sys.ActorOf(SmtpSession.Props(new SessionStart(connection.Ref, "127.0.0.1:5000", "abc"), quick, quick.ToSmtpPolicy(), CreateTestProbe().Ref));
        Watch(session);
        connection.ExpectMsg<Tcp.Register>();
        ReadWrite(connection);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        connection.ExpectMsg<Tcp.Abort>(TimeSpan.FromSeconds(3));
        session.Tell(Tcp.Aborted.Instance, connection.Ref);
        ExpectTerminated(session);
    }

    [Fact]
    public void A_peer_close_that_overtakes_the_close_asks_the_connection_to_close_again()
    {
        // Akka.IO forgets a Close that waits for a pending write when the peer's FIN arrives
        // first (keep-open-on-peer-closed): it reports PeerClosed and leaves the socket open.
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe());
        Watch(session);
        session.Tell(new Tcp.Received(ByteString.FromString("QUIT\r\n")), connection.Ref);
        Assert.StartsWith("221", ReadWrite(connection), StringComparison.Ordinal);
        connection.ExpectMsg<Tcp.Close>();
        session.Tell(Tcp.PeerClosed.Instance, connection.Ref);
        connection.ExpectMsg<Tcp.Close>();
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(Tcp.Closed.Instance, connection.Ref);
        ExpectTerminated(session);
    }

    [Fact]
    public void The_session_ends_when_its_connection_actor_dies()
    {
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe());
        Watch(session);
        Sys.Stop(connection.Ref);
        ExpectTerminated(session);
    }

    [Fact]
    public void A_refused_recipient_is_logged_at_information_with_its_address_and_reply()
    {
        var connection = CreateTestProbe();
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Info));
        var session = Start(connection, CreateTestProbe());

        session.Tell(new Tcp.Received(ByteString.FromString("EHLO a\r\nMAIL FROM:<x@y.z>\r\nRCPT TO:<dave@localhost>\r\nRCPT TO:<eve@elsewhere.test>\r\n")), connection.Ref);

        ReadWrite(connection);
        var logged = log.ReceiveWhile(TimeSpan.FromSeconds(1), m => m is Akka.Event.Info i ? i.Message.ToString() : null);
        // Serilog shows string values quoted.
        Assert.Contains("Recipient \"<dave@localhost>\" refused: \"550 5.1.1 No such user here\"", logged);
        Assert.Contains("Recipient \"<eve@elsewhere.test>\" refused: \"550 5.7.1 Relaying denied\"", logged);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private NodeOptions Options(string hocon) => NodeOptions.FromConfig(NodeConfig.Load(
        overrideText: $"actormail.data = \"{_root}\"\n{hocon}",
        environment: new Dictionary<string, string?>()));

    private IActorRef Start(TestProbe connection, TestProbe mailboxes, NodeOptions? options = null)
    {
        options ??= _options;
        var session = Sys.ActorOf(SmtpSession.Props(new SessionStart(connection.Ref, "127.0.0.1:5000", "abc"), options, options.ToSmtpPolicy(), mailboxes.Ref));
        connection.ExpectMsg<Tcp.Register>();
        ReadWrite(connection);
        return session;
    }

    private static string ReadWrite(TestProbe connection, TimeSpan? within = null) =>
        Encoding.ASCII.GetString(connection.ExpectMsg<Tcp.Write>(within ?? TimeSpan.FromSeconds(3)).Data.ToArray());
}
