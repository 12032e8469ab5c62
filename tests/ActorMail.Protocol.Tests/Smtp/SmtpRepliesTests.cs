using System.Reflection;
using System.Text.RegularExpressions;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

public partial class SmtpRepliesTests
{
    // The replies RFC 2034 sends without an enhanced code: the greeting and the answers to HELO/EHLO.
    private static readonly HashSet<string> WithoutEnhancedCode = [nameof(SmtpReplies.Greeting), nameof(SmtpReplies.Helo), nameof(SmtpReplies.Ehlo)];

    // Every reply SmtpReplies offers, found by reflection so a new one cannot escape the check.
    public static TheoryData<string, SmtpReply> AllReplies()
    {
        var data = new TheoryData<string, SmtpReply>();
        foreach (var property in typeof(SmtpReplies).GetProperties(BindingFlags.Public | BindingFlags.Static))
        {
            data.Add(property.Name, (SmtpReply)property.GetValue(null)!);
        }

        foreach (var method in typeof(SmtpReplies).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            if (method.IsSpecialName)
            {
                continue;
            }

            var arguments = method.GetParameters()
                .Select(p => p.ParameterType == typeof(long) ? (object)1000L : "x")
                .ToArray();
            data.Add(method.Name, (SmtpReply)method.Invoke(null, arguments)!);
        }

        return data;
    }

    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3}$")]
    private static partial Regex EnhancedCodeShape();

    [Theory]
    [MemberData(nameof(AllReplies))]
    public void EnhancedCodeMatchesTheReplyClassExceptForGreetingAndHello(string name, SmtpReply reply)
    {
        if (WithoutEnhancedCode.Contains(name) || reply.Code / 100 == 3)
        {
            Assert.Equal(string.Empty, reply.Enhanced);
            return;
        }

        Assert.Matches(EnhancedCodeShape(), reply.Enhanced);
        Assert.Equal((char)('0' + (reply.Code / 100)), reply.Enhanced[0]);
    }

    [Fact]
    public void ReflectionFindsTheRepliesItShould()
    {
        var names = AllReplies().Select(row => (string)row[0]).ToList();

        Assert.Contains(nameof(SmtpReplies.Greeting), names);
        Assert.Contains(nameof(SmtpReplies.Ok), names);
        Assert.Contains(nameof(SmtpReplies.MessageTooBig), names);
        Assert.True(names.Count >= 30, $"only {names.Count} replies found");
    }

    [Fact]
    public void GreetingIs220WithoutEnhancedCode()
    {
        Assert.Equal("220 mx.test ESMTP ActorMail ready\r\n", SmtpReplies.Greeting("mx.test").Render());
    }

    [Fact]
    public void EhloListsTheExtensionsAfterTheGreetingLine()
    {
        var reply = SmtpReplies.Ehlo("mx.test", "client.test", 10_485_760);

        Assert.Equal(
            "250-mx.test greets client.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n" +
            "250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n",
            reply.Render());
    }

    [Fact]
    public void MessageTooBigNamesTheLimit()
    {
        var reply = SmtpReplies.MessageTooBig(4096);

        Assert.Equal((552, "5.3.4"), (reply.Code, reply.Enhanced));
        Assert.Contains("4096", reply.Lines[0], StringComparison.Ordinal);
    }
}
