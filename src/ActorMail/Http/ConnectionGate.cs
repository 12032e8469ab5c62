using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Session;
using Akka.Actor;
using Akka.Event;
using Microsoft.AspNetCore.Connections;

namespace ActorMail.Http;

/// <summary>Messages between Kestrel's connection middleware and the <see cref="ConnectionGate"/>.</summary>
public static class GateCommands
{
    /// <summary>A connection from <paramref name="Address"/> arrived: answered with its <see cref="Admission"/>.</summary>
    public sealed record AdmitConnection(string Address);

    /// <summary>An admitted connection from <paramref name="Address"/> ended.</summary>
    public sealed record ReleaseConnection(string Address);
}

/// <summary>
/// The HTTP side's admission: the same <see cref="AdmissionControl"/> as the SMTP and POP3
/// listeners (connections in all, per client address, and a token bucket per address), owned by
/// this actor so that it stays single-threaded while Kestrel accepts on many threads. Kestrel asks
/// it once per connection (<see cref="Middleware"/>); a refused connection is answered 503 and closed
/// before any request is read.
/// </summary>
public sealed class ConnectionGate : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "http-gate";

    // Refusals are summed and logged once per interval, as the TCP listeners do.
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private static readonly byte[] Refusal = Encoding.ASCII.GetBytes(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 38\r\n"
        + "Retry-After: 1\r\nConnection: close\r\n\r\nToo many connections, try again later\n");

    private readonly AdmissionControl _admission;
    private readonly ConnectionMetrics _metrics;
    private readonly Dictionary<Admission, int> _refusals = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ConnectionGate(HttpOptions options)
    {
        _admission = options.Admission.NewControl();
        _metrics = NodeMetrics.Get(Context.System).Connections("HTTP");
        Receive<GateCommands.AdmitConnection>(m =>
        {
            var admission = _admission.Admit(m.Address, Now);
            _metrics.Decided(admission);
            if (admission != Admission.Accepted)
            {
                _refusals[admission] = _refusals.GetValueOrDefault(admission) + 1;
            }

            Sender.Tell(admission);
        });
        Receive<GateCommands.ReleaseConnection>(m =>
        {
            _admission.Release(m.Address);
            _metrics.Open.Decrement();
        });
        Receive<Report>(_ =>
        {
            _admission.Prune(Now);
            foreach (var (why, count) in _refusals)
            {
                _log.Warning("HTTP refused {Count} connections in the last {Interval} ({Reason}); {Admitted} connections open from {Addresses} addresses",
                    count, ReportInterval, why, _admission.Open, _admission.Addresses);
            }

            _refusals.Clear();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    public static Props Props(HttpOptions options) => Akka.Actor.Props.Create(() => new ConnectionGate(options));

    /// <summary>
    /// Kestrel connection middleware: asks the gate, answers a refusal with 503 and closes, and
    /// releases an admitted connection however it ends.
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(Func<Task<IActorRef>> gate, TimeSpan timeout) => next => async connection =>
    {
        var address = connection.RemoteEndPoint is IPEndPoint ip ? ip.Address.ToString() : "unknown";
        var target = await gate().ConfigureAwait(false);
        Admission admission;
        try
        {
            admission = await target.Ask<Admission>(new GateCommands.AdmitConnection(address), timeout).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            admission = Admission.ServerFull;
        }

        if (admission != Admission.Accepted)
        {
            await Refuse(connection.Transport.Output).ConfigureAwait(false);
            return;
        }

        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            target.Tell(new GateCommands.ReleaseConnection(address));
        }
    };

    protected override void PreStart() => Timers.StartPeriodicTimer("report", Report.Instance, ReportInterval);

    private static async Task Refuse(PipeWriter output)
    {
        try
        {
            await output.WriteAsync(Refusal).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client has gone already: nothing to tell it.
        }
        finally
        {
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private sealed record Report
    {
        public static Report Instance { get; } = new();
    }
}
