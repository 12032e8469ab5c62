using System.Text;

namespace ActorMail.Protocol.Tests;

/// <summary>Byte helpers: Latin-1 keeps one char per byte, so "\u00e9" is the single octet 0xE9.</summary>
internal static class Ascii
{
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
