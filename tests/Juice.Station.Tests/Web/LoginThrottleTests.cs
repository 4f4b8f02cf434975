using System.Net;
using System.Net.Http.Json;
using Juice.Station.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Juice.Station.Tests.Web;

/// <summary>The login throttle on a fake clock: free tries, then one try at a time after a doubling wait, the right password never refused, forgotten after a quiet while.</summary>
public sealed class LoginThrottleTests
{
    private static HttpContext From(string address) => new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(address) } };

    [Fact]
    public async Task After_the_free_tries_each_try_waits_a_doubling_delay_per_address_and_a_success_starts_afresh()
    {
        var time = new FakeTimeProvider();
        var throttle = new LoginThrottle(time, NullLogger<LoginThrottle>.Instance);
        var guesser = From("192.0.2.7");
        for (int i = 0; i < LoginThrottle.FreeTries; i++)
        {
            using (await throttle.TurnAsync(guesser, CancellationToken.None))   // free: no wait
            {
                Assert.Equal(LoginThrottle.FreeTries - 1 - i, throttle.Failed(guesser, "test"));
            }
        }
        Assert.Equal([0, 0, 1, 2, 4, 32, 60, 60], new[] { 0, 4, 5, 6, 7, 10, 11, 30 }.Select(f => LoginThrottle.Delay(f).TotalSeconds));

        // the sixth try waits 1 s before it is checked; another address is not slowed
        var turn = throttle.TurnAsync(guesser, CancellationToken.None);
        Assert.False(turn.IsCompleted);
        using (await throttle.TurnAsync(From("192.0.2.8"), CancellationToken.None))
        {
        }
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(turn.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        using (await turn)
        {
            throttle.Failed(guesser, "test");   // the sixth failure: the next try waits 2 s
        }
        // tries are taken one at a time: the second waits for the first, then for its own delay
        var first = throttle.TurnAsync(guesser, CancellationToken.None);
        var second = throttle.TurnAsync(guesser, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(2));
        var held = await first;
        Assert.False(second.IsCompleted);
        throttle.Succeeded(guesser);   // the right password: afresh
        held.Dispose();
        time.Advance(TimeSpan.Zero);
        (await second).Dispose();
        Assert.Equal(0, throttle.Failures(guesser));
    }

    [Fact]
    public void Failures_are_forgotten_after_a_quiet_while()
    {
        var time = new FakeTimeProvider();
        var throttle = new LoginThrottle(time, NullLogger<LoginThrottle>.Instance);
        var client = From("2001:db8::1");
        for (int i = 0; i < 7; i++)
        {
            throttle.Failed(client, "test");
        }
        Assert.Equal(7, throttle.Failures(client));
        time.Advance(LoginThrottle.Forget + TimeSpan.FromSeconds(1));
        Assert.Equal(0, throttle.Failures(client));
        Assert.Equal(LoginThrottle.FreeTries - 1, throttle.Failed(client, "test"));
    }
}

/// <summary>The operator's web session is kept in the database: a restart of the station keeps the operator logged in, a password change ends it.</summary>
public sealed class WebSessionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("juice-web-session-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HttpRequestMessage WithCookie(HttpMethod method, string path, string cookie) => new(method, path) { Headers = { { "Cookie", cookie } } };

    [Fact]
    public async Task A_restart_keeps_the_operator_logged_in()
    {
        string cookie;
        await using (var station = await TestStation.StartAsync(_dir))
        {
            using var browser = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = station.Http.BaseAddress };
            var login = await browser.PostAsJsonAsync("/api/session", new { password = TestStation.Password });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            cookie = login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(WithCookie(HttpMethod.Get, "/api/status", cookie))).StatusCode);
        }
        await using (var station = await TestStation.StartAsync(_dir))
        {
            using var browser = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = station.Http.BaseAddress };
            Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(WithCookie(HttpMethod.Get, "/api/status", cookie))).StatusCode);
            var session = await browser.SendAsync(WithCookie(HttpMethod.Get, "/api/session", cookie));
            Assert.Equal(HttpStatusCode.OK, session.StatusCode);   // the anti-forgery token again, for the reloaded page
            // a password change ends every session
            var csrf = (await session.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("csrf").GetString()!;
            var change = WithCookie(HttpMethod.Post, "/api/operator/password", cookie);
            change.Headers.Add("X-CSRF-Token", csrf);
            change.Content = JsonContent.Create(new { current = TestStation.Password, @new = "another-password-1" });
            Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(change)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.SendAsync(WithCookie(HttpMethod.Get, "/api/status", cookie))).StatusCode);
        }
    }
}
