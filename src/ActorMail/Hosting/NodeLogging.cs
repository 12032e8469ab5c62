using ActorMail.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Filters;
using Serilog.Formatting.Compact;

namespace ActorMail.Hosting;

/// <summary>Builds the Serilog logger: console, plus smtp.log and pop3.log split by the Protocol property, plus node.log for the rest.</summary>
public static class NodeLogging
{
    private const string TextTemplate =
        "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} [{Level:u3}] {Protocol} {SessionId} {Remote} {User} {Message:lj}{NewLine}{Exception}";

    /// <summary>A logger for <paramref name="options"/>; the caller disposes it.</summary>
    public static Serilog.Core.Logger Create(NodeOptions options, bool console = true)
    {
        Directory.CreateDirectory(options.LogDirectory);
        var level = options.LogLevel;
        var json = options.LogFormat == LogFormat.Json;
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            // ASP.NET Core writes lines per request at Information: only its warnings are kept.
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .Enrich.FromLogContext();

        if (console)
        {
            var consoleLevel = ConsoleLevel(options.LogConsole, Console.IsOutputRedirected, level);
            config = json
                ? config.WriteTo.Console(new CompactJsonFormatter(), restrictedToMinimumLevel: consoleLevel)
                : config.WriteTo.Console(outputTemplate: TextTemplate, restrictedToMinimumLevel: consoleLevel);
        }

        config = File(config, Matching.WithProperty<string>("Protocol", p => p == "SMTP"), Path.Combine(options.LogDirectory, "smtp.log"), json, options);
        config = File(config, Matching.WithProperty<string>("Protocol", p => p == "POP3"), Path.Combine(options.LogDirectory, "pop3.log"), json, options);
        config = File(config, e => !e.Properties.ContainsKey("Protocol"), Path.Combine(options.LogDirectory, "node.log"), json, options);
        return config.CreateLogger();
    }

    /// <summary>
    /// The lowest level the console shows. Redirected output is usually a file or a pipe that
    /// duplicates the log files; writing every line there cost 4-10 % of the node's CPU per
    /// message with a connection each (console on against off, docs/PERFORMANCE.md), and a file
    /// on the mail root's filesystem is written out again by every syncfs.
    /// </summary>
    public static LogEventLevel ConsoleLevel(LogConsole mode, bool redirected, LogEventLevel minimum)
    {
        var warnings = minimum > LogEventLevel.Warning ? minimum : LogEventLevel.Warning;
        return mode switch
        {
            LogConsole.All => minimum,
            LogConsole.Warnings => warnings,
            _ => redirected ? warnings : minimum,
        };
    }

    // Log files are written in blocks, not a write(2) per line, and flushed every interval; the
    // logger is disposed (and flushed) when the node stops. Mail durability never depends on them.
    // Each file rolls over at its size limit and only the newest few are kept, so an attack that
    // makes the node log a great deal cannot fill the disk.
    private static LoggerConfiguration File(LoggerConfiguration config, Func<LogEvent, bool> filter, string path, bool json, NodeOptions options) =>
        config.WriteTo.Logger(sub =>
        {
            sub.Filter.ByIncludingOnly(filter);
            if (json)
            {
                sub.WriteTo.File(new CompactJsonFormatter(), path, buffered: true, flushToDiskInterval: options.LogFlushInterval,
                    fileSizeLimitBytes: options.LogFileSizeLimit, rollOnFileSizeLimit: true, retainedFileCountLimit: options.LogFilesKept);
            }
            else
            {
                sub.WriteTo.File(path, outputTemplate: TextTemplate, buffered: true, flushToDiskInterval: options.LogFlushInterval,
                    fileSizeLimitBytes: options.LogFileSizeLimit, rollOnFileSizeLimit: true, retainedFileCountLimit: options.LogFilesKept);
            }
        });
}
