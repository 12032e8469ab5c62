using Akka.Actor;
using ActorMail.Configuration;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Store;

/// <summary>
/// Forwards each store command to the one <see cref="MailboxActor"/> of its mailbox, creating it on
/// first use. Sessions only know this actor's ref and the message contract, so a cluster shard
/// region can take its place without a change in the sessions.
/// </summary>
public sealed class MailboxRouter : ReceiveActor
{
    /// <summary>The router's name under /user.</summary>
    public const string Name = "mailboxes";

    public MailboxRouter(NodeOptions options)
    {
        Receive<IMailboxCommand>(command =>
        {
            var child = Context.Child(command.Mailbox);
            if (child.IsNobody())
            {
                child = Context.ActorOf(MailboxActor.Props(options, command.Mailbox), command.Mailbox);
            }

            child.Forward(command);
        });
    }

    public static Props Props(NodeOptions options) => Akka.Actor.Props.Create(() => new MailboxRouter(options));
}
