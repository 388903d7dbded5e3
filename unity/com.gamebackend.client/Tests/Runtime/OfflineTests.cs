using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>The client's own logic on a scripted transport and a fake clock: no backend needed.</summary>
    [TestFixture]
    public class OfflineTests
    {
        private static string TokensJson(string id, int expiresIn, string refresh = "r1")
        {
            return new JObject
            {
                { "player_id", "p1" }, { "id_token", id }, { "access_token", "a" }, { "refresh_token", refresh },
                { "expires_in", expiresIn }, { "username", "guest-1" }, { "password", "pw-1" },
            }.ToString();
        }

        private static string TempFolder()
        {
            var path = Path.Combine(Path.GetTempPath(), "gamebackend-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        [Test]
        public void ErrorResponsesBecomeTypedExceptionsWithTheApiCode()
        {
            var invalid = BackendException.FromResponse(FakeTransport.Answer(400,
                "{\"error\":\"updates.kills: too big\",\"code\":\"invalid\",\"details\":{\"field\":\"updates.kills\"}}"));
            Assert.IsInstanceOf<InvalidRequestException>(invalid);
            Assert.AreEqual("invalid", invalid.Code);
            Assert.AreEqual("updates.kills", ((InvalidRequestException)invalid).Field);
            Assert.AreEqual("updates.kills: too big", invalid.Message);

            var limited = BackendException.FromResponse(FakeTransport.Answer(429, "{\"error\":\"slow down\",\"code\":\"rate_limited\"}", "Retry-After", "7"));
            Assert.IsInstanceOf<RateLimitedException>(limited);
            Assert.AreEqual(TimeSpan.FromSeconds(7), limited.RetryAfter);
            Assert.IsTrue(limited.IsTransient);

            var busy = BackendException.FromResponse(FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}", "retry-after", "2"));
            Assert.IsInstanceOf<ServiceUnavailableException>(busy);
            Assert.AreEqual(TimeSpan.FromSeconds(2), busy.RetryAfter);

            // The HTTP API's own throttling answer: no code, no Retry-After, still typed by its status.
            var gateway = BackendException.FromResponse(FakeTransport.Answer(429, "{\"message\":\"Too Many Requests\"}"));
            Assert.IsInstanceOf<RateLimitedException>(gateway);
            Assert.AreEqual("rate_limited", gateway.Code);
            Assert.AreEqual("Too Many Requests", gateway.Message);
            Assert.IsNull(gateway.RetryAfter);
            Assert.IsTrue(gateway.IsTransient);

            var proxy = BackendException.FromResponse(FakeTransport.Answer(502, "<html>bad gateway</html>"));
            Assert.AreEqual(502, proxy.Status);
            Assert.AreEqual("http_502", proxy.Code);
            Assert.IsTrue(proxy.IsTransient);

            Assert.IsInstanceOf<NotFoundException>(BackendException.FromResponse(FakeTransport.Answer(404, "{\"error\":\"no\",\"code\":\"not_found\"}")));
            Assert.IsFalse(BackendException.FromResponse(FakeTransport.Answer(403, "{\"error\":\"no\",\"code\":\"forbidden\"}")).IsTransient);
        }

        [Test]
        public void SaveConflictCarriesTheServersVersion()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson("t1", 3600))
                : FakeTransport.Answer(409, "{\"error\":\"stale\",\"code\":\"version_conflict\",\"details\":{\"current_version\":4,\"updated_at\":\"2030-01-01T00:00:00Z\"}}"));
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport);
            Sync.Run(() => client.SignInAsGuestAsync());
            var conflict = Sync.Throws<SaveConflictException>(() => client.Saves.PutAsync("main", new { level = 2 }, 3));
            Assert.AreEqual(4, conflict.CurrentVersion);
            Assert.AreEqual("2030-01-01T00:00:00Z", conflict.CurrentUpdatedAt);
            Assert.AreEqual("version_conflict", conflict.Code);
            var put = transport.Requests.Last();
            Assert.AreEqual("PUT", put.Method);
            var body = JObject.Parse(put.Body);
            Assert.AreEqual(3, (int)body["expected_version"]);
            Assert.AreEqual(2, (int)body["data"]["level"]);
        }

        [Test]
        public void TokensAreRefreshedBeforeTheyExpire()
        {
            var time = new FakeTime();
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 300));
                if (r.Url.EndsWith("/auth/refresh"))
                {
                    Assert.AreEqual("r1", (string)JObject.Parse(r.Body)["refresh_token"]);
                    return FakeTransport.Answer(200, TokensJson("t2", 300, null));
                }
                return FakeTransport.Answer(200, "{\"player_id\":\"p1\",\"stats\":{\"kills\":3}}");
            });
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            Sync.Run(() => client.SignInAsGuestAsync());
            Sync.Run(() => client.Stats.GetAsync());
            Assert.AreEqual("Bearer t1", transport.Requests.Last().Headers["Authorization"]);
            Assert.IsFalse(transport.Paths().Any(p => p.Contains("refresh")));

            time.Now += TimeSpan.FromSeconds(250);  // 50 s left: inside the 60 s margin
            var stats = Sync.RunResult(() => client.Stats.GetAsync());
            Assert.AreEqual(3, stats.Get("kills"));
            CollectionAssert.AreEqual(new[] { "POST /auth/guest", "GET /players/me/stats", "POST /auth/refresh", "GET /players/me/stats" }, transport.Paths());
            Assert.AreEqual("Bearer t2", transport.Requests.Last().Headers["Authorization"]);

            // The refresh answer had no refresh token: the old one is kept for the next refresh.
            time.Now += TimeSpan.FromSeconds(250);
            Sync.Run(() => client.Stats.GetAsync());
            Assert.AreEqual("POST /auth/refresh", transport.Paths()[4]);
        }

        [Test]
        public void A401IsRetriedOnceWithAFreshToken()
        {
            var refreshes = 0;
            var rejectAll = false;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 3600));
                if (r.Url.EndsWith("/auth/refresh"))
                {
                    refreshes++;
                    return FakeTransport.Answer(200, TokensJson("t" + (refreshes + 1), 3600));
                }
                if (rejectAll || r.Headers["Authorization"] == "Bearer t1") return FakeTransport.Answer(401, "{\"error\":\"token expired\",\"code\":\"unauthorized\"}");
                return FakeTransport.Answer(200, "{\"player_id\":\"p1\",\"display_name\":\"Ann\",\"created_at\":\"x\"}");
            });
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport);
            Sync.Run(() => client.SignInAsGuestAsync());
            var me = Sync.RunResult(() => client.Players.GetMeAsync());
            Assert.AreEqual("Ann", me.DisplayName);
            Assert.AreEqual(1, refreshes);
            Assert.AreEqual("Bearer t2", transport.Requests.Last().Headers["Authorization"]);

            rejectAll = true;  // still 401 after the refresh: one retry only, then the typed error
            var before = transport.Requests.Count;
            var error = Sync.Throws<UnauthorizedException>(() => client.Players.GetMeAsync());
            Assert.AreEqual("unauthorized", error.Code);
            Assert.AreEqual(3, transport.Requests.Count - before);  // call, refresh, one retry
        }

        [Test]
        public void GuestCredentialsAreKeptOnTheDeviceAcrossRestarts()
        {
            var folder = TempFolder();
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 3600));
                if (r.Url.EndsWith("/auth/login"))
                {
                    var body = JObject.Parse(r.Body);
                    Assert.AreEqual("guest-1", (string)body["username"]);
                    Assert.AreEqual("pw-1", (string)body["password"]);
                    return FakeTransport.Answer(200, TokensJson("t2", 3600, "r2"));
                }
                return FakeTransport.Answer(404, "{}");
            });
            var first = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, new KeyValueCredentialStore(new FileStore(folder)));
            Assert.AreEqual("p1", Sync.RunResult(() => first.SignInAsGuestAsync()));
            var second = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, new KeyValueCredentialStore(new FileStore(folder)));
            Assert.AreEqual("p1", Sync.RunResult(() => second.SignInAsGuestAsync()));
            CollectionAssert.AreEqual(new[] { "POST /auth/guest", "POST /auth/login" }, transport.Paths());
            Assert.AreEqual("t2", second.IdToken);
        }

        [Test]
        public void EventsGoInBatchesOfTenAndSurviveARestart()
        {
            var folder = TempFolder();
            var sent = new List<JArray>();
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 3600));
                var events = (JArray)JObject.Parse(r.Body)["events"];
                sent.Add(events);
                return FakeTransport.Answer(202, "{\"accepted\":" + events.Count + ",\"duplicates\":0,\"rejected\":[]}");
            });
            var time = new FakeTime();
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            var tracker = new EventTracker(client, new FileEventJournal(Path.Combine(folder, "events.jsonl")), "s1");
            var ids = new List<string>();
            for (var i = 0; i < 23; i++) ids.Add(tracker.Track("level_up", new Dictionary<string, object> { { "level", i }, { "levelName", "L" + i } }));
            Assert.AreEqual(23, ids.Distinct().Count());

            // A restart: a new tracker on the same folder finds the 23 events.
            var restarted = new EventTracker(client, new FileEventJournal(Path.Combine(folder, "events.jsonl")), "s2");
            Assert.AreEqual(23, restarted.Pending);
            Sync.Run(() => client.SignInAsGuestAsync());
            var result = Sync.RunResult(() => restarted.FlushAsync());
            CollectionAssert.AreEqual(new[] { 10, 10, 3 }, sent.Select(b => b.Count).ToArray());
            CollectionAssert.AreEqual(ids, sent.SelectMany(b => b.Select(e => (string)e["event_id"])).ToList());
            Assert.AreEqual(23, result.Accepted);
            Assert.AreEqual(0, result.Remaining);
            Assert.AreEqual(0, new EventTracker(client, new FileEventJournal(Path.Combine(folder, "events.jsonl"))).Pending);

            var first = (JObject)sent[0][0];
            Assert.AreEqual("level_up", (string)first["type"]);
            Assert.AreEqual("s1", (string)first["session_id"]);
            Assert.AreEqual("L0", (string)first["data"]["levelName"]);  // data keys are kept as the game wrote them
            Assert.AreEqual(1893499200.0, (double)first["timestamp"], 0.001);
        }

        [Test]
        public void AFailedBatchIsResentWithTheSameIdsAfterBackoffHonouringRetryAfter()
        {
            var attempts = new List<string>();
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 100000));
                attempts.Add(string.Join(",", ((JArray)JObject.Parse(r.Body)["events"]).Select(e => (string)e["event_id"]).ToArray()));
                if (attempts.Count == 1) return FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}", "Retry-After", "30");
                if (attempts.Count == 2) throw new NetworkException("offline");
                if (attempts.Count == 3) return FakeTransport.Answer(500, "{\"error\":\"internal error\",\"code\":\"internal\"}");
                return FakeTransport.Answer(202, "{\"accepted\":2,\"duplicates\":0,\"rejected\":[]}");
            });
            var time = new FakeTime();
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            Sync.Run(() => client.SignInAsGuestAsync());
            var tracker = new EventTracker(client, new MemoryEventJournal(), null, new Backoff(new Random(7)) { Base = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(60) });
            tracker.Track("a");
            tracker.Track("b");
            var result = Sync.RunResult(() => tracker.FlushAsync());
            Assert.AreEqual(4, result.Attempts);
            Assert.AreEqual(1, attempts.Distinct().Count(), "every attempt resends the same event ids");
            Assert.AreEqual(3, result.Waits.Count);
            Assert.GreaterOrEqual(result.Waits[0].TotalSeconds, 30.0, "Retry-After is a floor");
            Assert.LessOrEqual(result.Waits[1].TotalSeconds, 2.0, "second retry: jitter within base * 2");
            Assert.LessOrEqual(result.Waits[2].TotalSeconds, 4.0, "third retry: jitter within base * 4");
            CollectionAssert.AreEqual(result.Waits, time.Delays);
            Assert.AreEqual(0, tracker.Pending);
        }

        [Test]
        public void AFlushGivesUpAfterMaxAttemptsAndKeepsTheEvents()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson("t1", 100000))
                : FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}"));
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, new FakeTime());
            Sync.Run(() => client.SignInAsGuestAsync());
            var tracker = new EventTracker(client, new MemoryEventJournal());
            tracker.Track("a");
            var result = Sync.RunResult(() => tracker.FlushAsync(3));
            Assert.AreEqual(3, result.Attempts);
            Assert.AreEqual(1, result.Remaining);
        }

        [Test]
        public void RejectedEventsAreReportedAndDropped()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson("t1", 100000))
                : FakeTransport.Answer(202, "{\"accepted\":1,\"duplicates\":0,\"rejected\":[{\"index\":1,\"code\":\"unknown_type\",\"message\":\"type: not declared\"}]}"));
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, new FakeTime());
            Sync.Run(() => client.SignInAsGuestAsync());
            var tracker = new EventTracker(client, new MemoryEventJournal());
            var reported = new List<string>();
            tracker.EventRejected += (e, why) => reported.Add(e.Type + ":" + why.Code);
            tracker.Track("ok");
            tracker.Track("nonsense");
            var result = Sync.RunResult(() => tracker.FlushAsync());
            CollectionAssert.AreEqual(new[] { "nonsense:unknown_type" }, reported);
            Assert.AreEqual(1, result.Rejected);
            Assert.AreEqual(0, tracker.Pending);
        }

        [Test]
        public void BackoffGrowsExponentiallyUpToItsCap()
        {
            var backoff = new Backoff(new Random(1)) { Base = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(10) };
            for (var attempt = 0; attempt < 12; attempt++)
            {
                for (var i = 0; i < 50; i++)
                {
                    var wait = backoff.Next(attempt).TotalSeconds;
                    Assert.GreaterOrEqual(wait, 0.0);
                    Assert.LessOrEqual(wait, Math.Min(10.0, Math.Pow(2, attempt)));
                }
            }
            Assert.AreEqual(TimeSpan.FromSeconds(45), new Backoff(new Random(1)) { Max = TimeSpan.FromSeconds(10) }.Next(0, TimeSpan.FromSeconds(45)));
        }

        [Test]
        public void MatchPollingBacksOffUntilTheTicketLeavesSearching()
        {
            var polls = 0;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 100000));
                polls++;
                if (polls == 2) return FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}", "Retry-After", "9");
                var status = polls < 4 ? "searching" : "matched";
                return FakeTransport.Answer(200, "{\"ticket_id\":\"k1\",\"status\":\"" + status + "\",\"match\":" + (polls < 4 ? "null" : "{\"match_id\":\"m1\",\"players\":[\"p1\",\"p2\"],\"teams\":[[\"p1\"],[\"p2\"]]}") + "}");
            });
            var time = new FakeTime();
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            Sync.Run(() => client.SignInAsGuestAsync());
            var ticket = Sync.RunResult(() => client.Matchmaking.WaitForMatchAsync("k1", new PollOptions()));
            Assert.AreEqual("matched", ticket.Status);
            Assert.AreEqual("m1", ticket.Match.MatchId);
            CollectionAssert.AreEqual(new[] { "p2" }, ticket.Match.Teams[1]);
            Assert.AreEqual(3, time.Delays.Count);
            Assert.GreaterOrEqual(time.Delays[1].TotalSeconds, 9.0, "Retry-After honoured while polling");
            Assert.Greater(time.Delays[2].TotalSeconds, time.Delays[0].TotalSeconds, "the interval grows");
        }

        [Test]
        public void RequestsEscapePathsAndBuildQueries()
        {
            Assert.AreEqual("?limit=5&ids=a%2Cb&unread_only=true", BackendClient.Query("limit", 5, "cursor", null, "ids", "a,b", "unread_only", true));
            Assert.AreEqual("a%2Fb%20c", BackendClient.Segment("a/b c"));
            Assert.AreEqual("display_name", Json.SnakeCase("DisplayName"));
            Assert.AreEqual("{\"stats\":{\"highScore\":1.0}}", Json.Serialize(new PlayerStats { Stats = new Dictionary<string, double> { { "highScore", 1 } } }));
        }
    }
}
