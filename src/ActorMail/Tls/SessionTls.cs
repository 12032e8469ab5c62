using System.Net.Security;
using ActorMail.Configuration;

namespace ActorMail.Tls;

/// <summary>What a session needs to start TLS: the node's certificate, built once, and the TLS settings.</summary>
/// <param name="Certificate">The certificate and its chain, as SslStream presents them.</param>
/// <param name="Options">Versions, handshake timeout and input bound.</param>
public sealed record SessionTls(SslStreamCertificateContext Certificate, TlsOptions Options);
