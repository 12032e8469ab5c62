using ActorMail.Protocol.Mail;
using ActorMail.Admin;
using ActorMail.Store;

namespace ActorMail.Tests;

/// <summary>The Maildir store and the admin listing, on a temporary directory.</summary>
public sealed class StoreTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actormail-store-" + Guid.NewGuid().ToString("N")[..8]);

    public StoreTests() => Directory.CreateDirectory(_root);

    [Theory]
    [InlineData("..")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("/etc")]
    [InlineData(".spool")]
    [InlineData("Alice")]
    [InlineData("a\0b")]
    public void Mailbox_names_outside_the_grammar_never_become_paths(string name)
    {
        Assert.Throws<ArgumentException>(() => new Maildir(_root, name));
    }

    [Fact]
    public void Delivery_links_the_spool_into_new_and_sweeps_leave_nothing_in_tmp()
    {
        var spool = Spool.Create(_root, "s1");
        spool.Write("Subject: x\r\n\r\nbody\r\n"u8);
        Assert.True(spool.Complete());
        var alice = new Maildir(_root, "alice");
        alice.EnsureExists();
        var name = Maildir.NewName(spool.Length);
        Assert.True(alice.Deliver(spool.Path, name));
        Assert.False(alice.Deliver(spool.Path, name), "a second link of the same name finds the first");
        spool.Dispose();

        Assert.Equal("Subject: x\r\n\r\nbody\r\n", File.ReadAllText(Path.Combine(alice.New, name)));
        Assert.EndsWith($",S={spool.Length}", name, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(alice.Tmp));
        Assert.False(File.Exists(spool.Path));

        File.WriteAllText(Path.Combine(alice.Tmp, "stale"), "partial");
        File.WriteAllText(Path.Combine(_root, Spool.FolderName, "stale"), "partial");
        Assert.Equal(1, alice.SweepTmp());
        Assert.Equal(1, Spool.Sweep(_root));
    }

    [Fact]
    public void On_a_shared_mail_root_a_starting_node_sweeps_only_its_own_and_stale_leftovers()
    {
        var stale = TimeSpan.FromHours(36);
        var now = DateTime.UtcNow;
        // A delivery of this node's earlier run, one another node is streaming right now, and
        // one a node that never came back left two days ago.
        var mine = Spool.Create(_root, "a1.1", owner: "127.0.0.1-4053");
        var theirs = Spool.Create(_root, "b1.1", owner: "127.0.0.1-4054");
        var abandoned = Spool.Create(_root, "c1.1", owner: "127.0.0.1-4055");
        foreach (var spool in new[] { mine, theirs, abandoned })
        {
            spool.Write("partial"u8);
            Assert.True(spool.Complete());
        }

        File.SetLastWriteTimeUtc(abandoned.Path, now - stale - TimeSpan.FromMinutes(1));
        var alice = new Maildir(_root, "alice");
        alice.EnsureExists();
        File.WriteAllText(Path.Combine(alice.Tmp, "fresh"), "partial");
        File.WriteAllText(Path.Combine(alice.Tmp, "old"), "partial");
        File.SetLastWriteTimeUtc(Path.Combine(alice.Tmp, "old"), now - stale - TimeSpan.FromMinutes(1));

        Assert.Equal(2, Spool.Sweep(_root, "127.0.0.1-4053", now - stale));
        Assert.Equal(1, alice.SweepTmp(now - stale));

        Assert.True(File.Exists(theirs.Path));
        Assert.False(File.Exists(mine.Path));
        Assert.False(File.Exists(abandoned.Path));
        Assert.Equal([Path.Combine(alice.Tmp, "fresh")], Directory.GetFiles(alice.Tmp));
        Assert.EndsWith("~127.0.0.1-4054", theirs.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Retract_finds_a_copy_another_reader_already_moved_to_cur()
    {
        var bob = new Maildir(_root, "bob");
        bob.EnsureExists();
        File.WriteAllText(Path.Combine(bob.Cur, "1700000000.M000001P1Q1.h,S=1:2,"), "x");
        Assert.True(bob.Retract("1700000000.M000001P1Q1.h,S=1"));
        Assert.Empty(Directory.GetFiles(bob.Cur));
        Assert.False(bob.Retract("1700000000.M000001P1Q1.h,S=1"));
    }

    [Fact]
    public void Open_drop_lists_new_and_cur_in_delivery_order_moves_nothing_and_sizes_from_names()
    {
        var bob = new Maildir(_root, "bob");
        bob.EnsureExists();
        File.WriteAllText(Path.Combine(bob.New, "1700000000.M1P1Q1.host,S=999"), "short");
        File.WriteAllText(Path.Combine(bob.Cur, "1600000000.M1P1Q1.host,S=5:2,S"), "seen!");
        var drop = bob.OpenDrop();
        Assert.Equal(["cur/1600000000.M1P1Q1.host,S=5:2,S", "new/1700000000.M1P1Q1.host,S=999"], drop.Select(m => m.FileName));
        Assert.Equal([5L, 999L], drop.Select(m => m.Size));
        Assert.Equal(["1600000000.M1P1Q1.host,S=5", "1700000000.M1P1Q1.host,S=999"], drop.Select(m => m.Uid));
        Assert.Single(Directory.GetFiles(bob.New));
        Assert.Equal("short", File.ReadAllText(bob.MessagePath(drop[1].FileName)));
        Assert.Equal(Path.Combine(bob.Cur, "x"), bob.MessagePath("../../x"));
        Assert.Equal(2, bob.Remove([drop[0].FileName, drop[1].FileName, "new/1.M1P1Q1.missing,S=1"]).Count);
        Assert.Empty(Directory.GetFiles(bob.New));
        Assert.Empty(Directory.GetFiles(bob.Cur));
    }

    // Files another program put there: a name without S= is sized from the file, a name too
    // long to be its own UID gets the hashed one, a hidden file counts, a folder does not.
    [Fact]
    public void Open_drop_takes_foreign_names_as_they_are()
    {
        var bob = new Maildir(_root, "bob");
        bob.EnsureExists();
        var longName = "1700000002." + new string('h', 90);
        File.WriteAllText(Path.Combine(bob.New, "1700000001.plain"), "seven!!");
        File.WriteAllText(Path.Combine(bob.New, longName), "x");
        File.WriteAllText(Path.Combine(bob.Cur, ".1700000003.hidden:2,S"), "abc");
        Directory.CreateDirectory(Path.Combine(bob.New, "1700000000.folder"));

        var drop = bob.OpenDrop();

        Assert.Equal([".1700000003.hidden", "1700000001.plain", MaildirName.Uid(longName)], drop.Select(m => m.Uid));
        Assert.Equal([3L, 7L, 1L], drop.Select(m => m.Size));
        Assert.Equal("new/" + longName, drop[2].FileName);
    }

    [Fact]
    public void Mailbox_report_counts_from_file_names_alone()
    {
        var alice = new Maildir(_root, "alice");
        alice.EnsureExists();
        // Contents that disagree with S= prove the report never opens a message.
        File.WriteAllText(Path.Combine(alice.New, "1700000000.M1P1Q1.h,S=100"), "x");
        File.WriteAllText(Path.Combine(alice.Cur, "1700000100.M1P1Q2.h,S=50:2,S"), "y");
        Directory.CreateDirectory(Path.Combine(_root, ".spool"));
        var report = MailboxReport.Scan(_root);
        var row = Assert.Single(report);
        Assert.Equal(new MailboxSummary("alice", 1, 1, 150, DateTimeOffset.FromUnixTimeSeconds(1700000000), DateTimeOffset.FromUnixTimeSeconds(1700000100)), row);
        Assert.Contains("alice", MailboxReport.ToTable(report), StringComparison.Ordinal);
        Assert.Contains("\"octets\": 150", MailboxReport.ToJson(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Folders_the_store_creates_are_exactly_0700_even_under_a_setgid_parent()
    {
        // Debian's /var/mail is 2775 root:mail, and mkdir(2) under a setgid folder passes the bit on.
        var parent = Path.Combine(_root, "var-mail");
        Directory.CreateDirectory(parent);
        File.SetUnixFileMode(parent, UnixFileMode.SetGroup | OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupWrite
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Assert.True(File.GetUnixFileMode(parent).HasFlag(UnixFileMode.SetGroup));
        var mailRoot = Path.Combine(parent, "actormail");

        var bob = new Maildir(mailRoot, "bob");
        bob.EnsureExists();
        using var spool = Spool.Create(mailRoot, "s1");

        foreach (var folder in new[] { mailRoot, bob.Root, bob.Tmp, bob.New, bob.Cur, Path.GetDirectoryName(spool.Path)! })
        {
            Assert.Equal((folder, OwnerOnly), (folder, File.GetUnixFileMode(folder)));
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
