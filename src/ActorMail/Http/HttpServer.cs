using System.Net;
using ActorMail.Configuration;
using ActorMail.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorMail.Http;

/// <summary>
/// Kestrel in the node's own host: <see cref="Configure"/> adds the server to a builder,
/// <see cref="Map"/> adds the endpoints to the built application. The endpoints reach the actors
/// through <c>node</c>, which completes once the actor tree is up; until then /readyz says 503.
/// </summary>
public static class HttpServer
{
    // The API takes no request bodies; anything sent with a request is refused (413).
    private const long MaxRequestBody = 0;

    /// <summary>A builder with nothing in it (no configuration files, no watchers, no default logging) for the node's host.</summary>
    public static WebApplicationBuilder CreateBuilder() => WebApplication.CreateEmptyBuilder(new WebApplicationOptions());

    /// <summary>Adds Kestrel on actormail.bind and actormail.http.port, with the connection gate and limits of <paramref name="options"/>.</summary>
    public static void Configure(WebApplicationBuilder builder, NodeOptions options, Task<RunningNode> node)
    {
        var http = options.Http;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.KeepAliveTimeout = http.IdleTimeout;
            kestrel.Limits.RequestHeadersTimeout = http.RequestHeadersTimeout;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBody;
            kestrel.Limits.MaxRequestLineSize = http.MaxRequestLine;
            kestrel.Listen(IPAddress.Parse(options.Bind), http.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(ConnectionGate.Middleware(async () => (await node.ConfigureAwait(false)).Http!.Gate, http.StoreTimeout));
            });
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = p =>
        {
            // The same body for the same answer: a trace id would tell one 404 from another.
            p.ProblemDetails.Extensions.Remove("traceId");
            p.ProblemDetails.Detail ??= p.ProblemDetails.Status switch
            {
                StatusCodes.Status404NotFound => "the API has no such path: /api/openapi.json lists every endpoint",
                StatusCodes.Status405MethodNotAllowed => "this path does not take that method: /api/openapi.json lists the methods of each endpoint",
                StatusCodes.Status413PayloadTooLarge => "the API takes no request body",
                _ => "the request could not be served",
            };
        });
        builder.Services.AddSingleton(sp => new MailboxApi(options, node, sp.GetRequiredService<IHostApplicationLifetime>()));
        builder.Services.AddSingleton(sp => new WebPage(sp.GetRequiredService<MailboxApi>(), options, node));
    }

    /// <summary>Adds the response headers every answer carries and the endpoints; returns <paramref name="app"/>.</summary>
    public static WebApplication Map(WebApplication app)
    {
        var api = app.Services.GetRequiredService<MailboxApi>();
        app.Use((context, next) =>
        {
            api.CountRequests(context);
            return next(context);
        });

        // An answer without a body (no route 404, 405, 413) gets one: a problem details document.
        app.UseStatusCodePages();
        app.Use(async (context, next) =>
        {
            // Mail is written by strangers: nothing served here is run or sniffed as a page of this origin.
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
            headers.CacheControl = "no-store";

            // Kestrel enforces MaxRequestBodySize only on a body that is read; the API reads none.
            if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                context.Response.Headers.Connection = "close";
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        api.Map(app);
        app.Services.GetRequiredService<WebPage>().Map(app);
        return app;
    }

    /// <summary>The port Kestrel bound (the one asked for, or the one it took for port 0).</summary>
    public static int BoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel has bound no address");
        return new Uri(address).Port;
    }

    /// <summary>Starts the HTTP side alone, for an actor system started without the generic host (tests).</summary>
    public static async Task<WebApplication> StartAsync(NodeOptions options, RunningNode node)
    {
        var builder = CreateBuilder();
        Configure(builder, options, Task.FromResult(node));
        var app = Map(builder.Build());
        await app.StartAsync().ConfigureAwait(false);
        return app;
    }
}
