using ActorMail.Protocol.Store;
using System.Text;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Pop3;
using ActorMail.Protocol.Pop3;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Tests;

/// <summary>The POP3 session FSM with TestProbes for the connection and the mailbox router.</summary>
public sealed class Pop3SessionSpec : TestKit
{
    private readonly NodeOptions _options = NodeOptions.FromConfig(NodeConfig.Load(
        overrideText: "actormail.pop3.auth-failure-delay = 2s",
        environment: new Dictionary<string, string?>()));

    public Pop3SessionSpec()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
    }

    [Fact]
    public void No_input_is_read_during_the_sign_in_delay_and_input_meanwhile_is_answered_after_it()
    {
        var connection = CreateTestProbe();
        var session = Start(connection, CreateTestProbe(), (_, _) => false);
        connection.ExpectMsg<Tcp.ResumeReading>();
        session.Tell(new Tcp.Received(ByteString.FromString("USER alice\r\nPASS wrong\r\n")), connection.Ref);
        Assert.Equal("+OK Send PASS\r\n", ReadWrite(connection));
        session.Tell(new Tcp.Received(ByteString.FromString("NOOP\r\n")), connection.Ref);
        // The delay (2 s) is long against this window, so a slow machine cannot end it early.
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal("-ERR [AUTH] Invalid user name or password\r\n-ERR NOOP not allowed in the AUTHORIZATION state\r\n", ReadWrite(connection, TimeSpan.FromSeconds(10)));
        connection.ExpectMsg<Tcp.ResumeReading>();
    }

    [Fact]
    public void No_input_is_read_until_the_maildrop_is_granted()
    {
        var connection = CreateTestProbe();
        var mailboxes = CreateTestProbe();
        var session = Start(connection, mailboxes, (_, _) => true);
        connection.ExpectMsg<Tcp.ResumeReading>();
        session.Tell(new Tcp.Received(ByteString.FromString("USER bob\r\nPASS right\r\n")), connection.Ref);
        Assert.Equal("+OK Send PASS\r\n", ReadWrite(connection));
        session.Tell(new Tcp.Received(ByteString.FromString("STAT\r\n")), connection.Ref);
        var open = mailboxes.ExpectMsg<OpenMaildrop>();
        Assert.Equal("bob", open.Mailbox);
        connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        session.Tell(new MaildropOpened("bob", open.CorrelationId, [new DropMessage("f1", "u1", 42)]), mailboxes.Ref);
        Assert.Equal("+OK Maildrop has 1 messages (42 octets)\r\n+OK 1 42\r\n", ReadWrite(connection));
        connection.ExpectMsg<Tcp.ResumeReading>();
    }

    [Fact]
    public void Quit_in_transaction_commits_exactly_the_marked_files_before_signing_off()
    {
        var connection = Connection();
        var mailboxes = CreateTestProbe();
        var session = Start(connection, mailboxes, (_, _) => true);
        session.Tell(new Tcp.Received(ByteString.FromString("USER bob\r\nPASS right\r\n")), connection.Ref);
        ReadWrite(connection);
        var open = mailboxes.ExpectMsg<OpenMaildrop>();
        session.Tell(new MaildropOpened("bob", open.CorrelationId, [new DropMessage("f1", "u1", 1), new DropMessage("f2", "u2", 2), new DropMessage("f3", "u3", 3)]), mailboxes.Ref);
        ReadWrite(connection);
        session.Tell(new Tcp.Received(ByteString.FromString("DELE 3\r\nDELE 1\r\nQUIT\r\n")), connection.Ref);
        Assert.Equal("+OK Message 3 deleted\r\n+OK Message 1 deleted\r\n", ReadWrite(connection));
        var commit = mailboxes.ExpectMsg<CommitDeletions>();
        Assert.Equal(["f1", "f3"], commit.FileNames.ToArray());
        session.Tell(new DeletionsCommitted("bob", commit.CorrelationId, 2), mailboxes.Ref);
        Assert.Equal("+OK ActorMail POP3 server signing off (1 messages left)\r\n", ReadWrite(connection));
    }

    [Fact]
    public void Pipelined_small_retrievals_and_the_replies_around_them_go_out_in_one_write_in_order()
    {
        var root = Path.Combine(Path.GetTempPath(), "actormail-p3spec-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = NodeOptions.FromConfig(NodeConfig.Load(overrideText: $"actormail.data = \"{root}\"", environment: new Dictionary<string, string?>()));
            var bob = new ActorMail.Store.Maildir(options.DataRoot, "bob");
            bob.EnsureExists();
            File.WriteAllText(Path.Combine(bob.Cur, "1.M1P1Q1.h,S=7:2,"), "first\r\n");
            File.WriteAllText(Path.Combine(bob.Cur, "2.M1P1Q2.h,S=11:2,"), ".dot\r\nend\r\n");
            var connection = Connection();
            var mailboxes = CreateTestProbe();
            var session = Start(connection, mailboxes, (_, _) => true, options);
            session.Tell(new Tcp.Received(ByteString.FromString("USER bob\r\nPASS right\r\n")), connection.Ref);
            ReadWrite(connection);
            var open = mailboxes.ExpectMsg<OpenMaildrop>();
            session.Tell(new MaildropOpened("bob", open.CorrelationId, [new DropMessage("1.M1P1Q1.h,S=7:2,", "u1", 7), new DropMessage("2.M1P1Q2.h,S=11:2,", "u2", 11)]), mailboxes.Ref);
            ReadWrite(connection);

            session.Tell(new Tcp.Received(ByteString.FromString("NOOP\r\nRETR 1\r\nNOOP\r\nRETR 2\r\nSTAT\r\n")), connection.Ref);
            Assert.Equal(
                "+OK\r\n+OK 7 octets\r\nfirst\r\n.\r\n+OK\r\n+OK 11 octets\r\n..dot\r\nend\r\n.\r\n+OK 2 18\r\n",
                ReadWrite(connection));
            connection.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_session_whose_mailbox_actor_stops_ends_with_sys_temp_and_commits_nothing()
    {
        var connection = CreateTestProbe();
        var mailboxes = CreateTestProbe();
        var owner = CreateTestProbe();
        connection.IgnoreMessages(m => m is Tcp.SuspendReading or Tcp.ResumeReading);
        var session = Start(connection, mailboxes, (_, _) => true);
        session.Tell(new Tcp.Received(ByteString.FromString("USER bob\r\nPASS right\r\n")), connection.Ref);
        ReadWrite(connection);
        var open = mailboxes.ExpectMsg<OpenMaildrop>();
        // The maildrop is granted by the entity itself (on whichever node), not by the region.
        session.Tell(new MaildropOpened("bob", open.CorrelationId, [new DropMessage("f1", "u1", 1)]), owner.Ref);
        ReadWrite(connection);
        session.Tell(new Tcp.Received(ByteString.FromString("DELE 1\r\n")), connection.Ref);
        Assert.Equal("+OK Message 1 deleted\r\n", ReadWrite(connection));

        Sys.Stop(owner.Ref);

        Assert.Equal("-ERR [SYS/TEMP] Maildrop lost after a server fault, nothing deleted\r\n", ReadWrite(connection));
        connection.ExpectMsg<Tcp.Close>();
        mailboxes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    private IActorRef Start(TestProbe connection, TestProbe mailboxes, Func<string, string, bool> check, NodeOptions? options = null)
    {
        options ??= _options;
        var policy = new Pop3Policy(options.Pop3.MaxBadCommands, options.Pop3.MaxAuthFailures, options.Pop3.MaxJunkCommands);
        var passwords = Sys.ActorOf(Props.Create(() => new PasswordsStandIn(check)));
        var session = Sys.ActorOf(Pop3Session.Props(new SessionStart(connection.Ref, "127.0.0.1:6000", "p0p"), options, policy, mailboxes.Ref, passwords));
        connection.ExpectMsg<Tcp.Register>();
        Assert.StartsWith("+OK", ReadWrite(connection), StringComparison.Ordinal);
        return session;
    }

    // A stand-in for the connection that does not show the session's read requests (pull mode).
    private TestProbe Connection()
    {
        var connection = CreateTestProbe();
        connection.IgnoreMessages(m => m is Tcp.ResumeReading);
        return connection;
    }

    private static string ReadWrite(TestProbe connection, TimeSpan? within = null) =>
        Encoding.ASCII.GetString(connection.ExpectMsg<Tcp.Write>(within ?? TimeSpan.FromSeconds(3)).Data.ToArray());

    // Answers password checks at once with the test's own rule, in place of the node's checker.
    private sealed class PasswordsStandIn : ReceiveActor
    {
        public PasswordsStandIn(Func<string, string, bool> check) =>
            Receive<AuthCommands.CheckPassword>(c => Sender.Tell(new AuthCommands.PasswordChecked(
                c.CorrelationId, check(c.User, c.Password) ? PasswordOutcome.Accepted : PasswordOutcome.Rejected)));
    }
}
