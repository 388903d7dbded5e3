using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>The realtime connection offline: typed events from server messages, and a ticket's outcome remembered.</summary>
    [TestFixture]
    public class RealtimeOfflineTests
    {
        private static BackendClient Client(FakeTransport transport = null)
        {
            return new BackendClient(new BackendOptions(), new MainThreadTransport(transport ?? new FakeTransport(r => FakeTransport.Answer(500, "{}"))), null, new FakeTime());
        }

        [Test]
        public void ServerMessagesBecomeTypedEvents()
        {
            var realtime = new RealtimeConnection(Client());
            var matches = new List<MatchFound>();
            var notes = new List<Notification>();
            var unlocks = new List<AchievementUnlocked>();
            var timeouts = new List<TicketTimedOut>();
            var periods = new List<PeriodClosed>();
            var all = new List<string>();
            realtime.OnMatchFound += matches.Add;
            realtime.OnNotification += notes.Add;
            realtime.OnAchievementUnlocked += unlocks.Add;
            realtime.OnTicketTimedOut += timeouts.Add;
            realtime.OnPeriodClosed += periods.Add;
            realtime.OnMessage += m => all.Add(m.Type);
            realtime.Dispatch("{\"type\":\"match_found\",\"sent_at\":\"t\",\"data\":{\"match_id\":\"m1\",\"queue\":\"duel\",\"region\":\"eu-west-1\",\"ticket_id\":\"k1\",\"teams\":[[\"a\"],[\"b\"]],\"players\":[\"a\",\"b\"]}}");
            realtime.Dispatch("{\"type\":\"notification\",\"sent_at\":\"t\",\"data\":{\"id\":\"n1\",\"kind\":\"gift\",\"title\":\"Hi\",\"created_at\":\"t\"}}");
            realtime.Dispatch("{\"type\":\"achievement_unlocked\",\"sent_at\":\"t\",\"data\":{\"achievement_id\":\"first_blood\",\"title\":\"First\",\"points\":5}}");
            realtime.Dispatch("{\"type\":\"ticket_timed_out\",\"sent_at\":\"t\",\"data\":{\"ticket_id\":\"k2\",\"queue\":\"duel\",\"region\":\"eu-west-1\"}}");
            realtime.Dispatch("{\"type\":\"period_closed\",\"sent_at\":\"t\",\"data\":{\"board\":\"daily\",\"period\":\"2030-01-01\",\"rank\":2,\"score\":9.5}}");
            realtime.Dispatch("{\"type\":\"pong\",\"sent_at\":\"t\",\"data\":{\"server_time\":\"t\"}}");
            realtime.Dispatch("not json");
            Assert.AreEqual("m1", matches.Single().MatchId);
            Assert.AreEqual("k1", matches.Single().TicketId);
            CollectionAssert.AreEqual(new[] { "a", "b" }, matches.Single().Players);
            Assert.AreEqual("Hi", notes.Single().Title);
            Assert.AreEqual(5, unlocks.Single().Points);
            Assert.AreEqual("k2", timeouts.Single().TicketId);
            Assert.AreEqual(2, periods.Single().Rank);
            CollectionAssert.AreEqual(new[] { "match_found", "notification", "achievement_unlocked", "ticket_timed_out", "period_closed", "pong" }, all);
            // An outcome that came before anyone waited for it is kept for the waiter.
            Assert.IsTrue(realtime.TicketOutcome("k1").IsCompleted);
            Assert.AreEqual("ticket_timed_out", realtime.TicketOutcome("k2").Result.Type);
            var later = realtime.TicketOutcome("k3");
            Assert.IsFalse(later.IsCompleted);
            realtime.Dispatch("{\"type\":\"match_found\",\"sent_at\":\"t\",\"data\":{\"match_id\":\"m3\",\"queue\":\"duel\",\"region\":\"eu-west-1\",\"ticket_id\":\"k3\"}}");
            Assert.IsTrue(later.IsCompleted);
        }

        [Test]
        public void WhileTheSocketIsDownMatchmakingPolls()
        {
            var polls = 0;
            var transport = new FakeTransport(request =>
            {
                if (request.Url.EndsWith("/auth/guest"))
                {
                    return FakeTransport.Answer(201, "{\"player_id\":\"p1\",\"id_token\":\"t1\",\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":100000,\"username\":\"g\",\"password\":\"pw\"}");
                }
                polls++;
                var status = polls < 3 ? "searching" : "matched";
                return FakeTransport.Answer(200, "{\"ticket_id\":\"k1\",\"status\":\"" + status + "\",\"match_id\":" + (polls < 3 ? "null" : "\"m1\"") + "}");
            });
            var time = new FakeTime();
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            Sync.Run(() => client.SignInAsGuestAsync());
            var realtime = new RealtimeConnection(client);  // never started: down
            var ticket = Sync.RunResult(() => client.Matchmaking.WaitForMatchAsync("k1", realtime, new PollOptions()));
            Assert.AreEqual("matched", ticket.Status);
            Assert.AreEqual(3, polls);
            Assert.AreEqual(3, client.Matchmaking.PollsWhileDisconnected);
            Assert.AreEqual(2, time.Delays.Count, "it waits between polls as WaitForMatchAsync does");
        }

        [Test]
        public void ARefusedStatusIsReadFromTheSocketError()
        {
            Assert.AreEqual(401, WebSocketRefusedException.StatusIn("The server returned status code '401' when status code '101' was expected."));
            Assert.AreEqual(0, WebSocketRefusedException.StatusIn("Unable to connect to the remote server"));
        }
    }

    /// <summary>
    /// Two clients on the local backend's WebSocket API (GAMEBACKEND_URL and GAMEBACKEND_WS_URL):
    /// both connected, both queue, both learn of the match from the push, with no poll at all.
    /// </summary>
    [TestFixture]
    public class RealtimeEndToEndTests
    {
        private static string Env(string name)
        {
            var value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value)) Assert.Ignore(name + " is not set: no backend to test against");
            return value;
        }

        private static BackendClient Guest(RecordingTransport transport)
        {
            var client = new BackendClient(new BackendOptions { BaseUrl = Env("GAMEBACKEND_URL") }, new MainThreadTransport(transport), new KeyValueCredentialStore(new MemoryStore()));
            Sync.Run(() => client.SignInAsGuestAsync(null));
            return client;
        }

        private static async Task Connected(RealtimeConnection realtime)
        {
            for (var changes = 0; !realtime.IsConnected; changes++)
            {
                Assert.Less(changes, 10, "the connection keeps failing: " + realtime.State);
                await realtime.NextStateChange;
            }
        }

        [Test]
        public void TwoClientsReceiveMatchFoundWithoutPolling()
        {
            var wsUrl = Env("GAMEBACKEND_WS_URL");
            const string queue = "duel";
            const string region = "eu-west-1";
            var http = new HttpClientTransport();
            var recordA = new RecordingTransport(http);
            var recordB = new RecordingTransport(http);
            // Drain tickets other tests may have left waiting: a sweeper matched at once took one.
            for (var sweep = 0; ; sweep++)
            {
                Assert.Less(sweep, 20, "the queue keeps refilling");
                var sweeper = Guest(new RecordingTransport(http));
                var probe = Sync.RunResult(() => sweeper.Matchmaking.CreateTicketAsync(queue, region));
                if (probe.Status != "searching") continue;
                Sync.Run(() => sweeper.Matchmaking.CancelTicketAsync(probe.TicketId));
                break;
            }
            var a = Guest(recordA);
            var b = Guest(recordB);
            var realtimeA = new RealtimeConnection(a, new RealtimeOptions { Url = wsUrl });
            var realtimeB = new RealtimeConnection(b, new RealtimeOptions { Url = wsUrl });
            var pushedA = new List<MatchFound>();
            var pushedB = new List<MatchFound>();
            realtimeA.OnMatchFound += pushedA.Add;
            realtimeB.OnMatchFound += pushedB.Add;
            MatchTicket mine = null, theirs = null;
            Sync.Run(async () =>
            {
                var runA = realtimeA.RunAsync();
                var runB = realtimeB.RunAsync();
                await Connected(realtimeA);
                await Connected(realtimeB);
                var ticketA = await a.Matchmaking.CreateTicketAsync(queue, region);
                if (ticketA.Status == "searching")
                {
                    var waitA = a.Matchmaking.WaitForMatchAsync(ticketA.TicketId, realtimeA);
                    theirs = await b.Matchmaking.FindMatchAsync(queue, region, realtimeB);
                    mine = await waitA;
                }
                realtimeA.Stop();
                realtimeB.Stop();
                await runA;
                await runB;
            });
            Assert.IsNotNull(mine, "the queue held a ticket from elsewhere; a matched the first");
            Assert.AreEqual("matched", mine.Status);
            Assert.AreEqual("matched", theirs.Status);
            Assert.AreEqual(mine.MatchId, theirs.MatchId);
            CollectionAssert.AreEquivalent(new[] { a.PlayerId, b.PlayerId }, mine.Match.Players);
            Assert.AreEqual(mine.MatchId, pushedA.Single().MatchId);
            // b's create made the match: the answer says so, and the push came too.
            Assert.AreEqual(mine.MatchId, pushedB.Single().MatchId);
            Assert.AreEqual(0, a.Matchmaking.PollsWhileDisconnected + b.Matchmaking.PollsWhileDisconnected);
            Assert.IsFalse(recordA.Calls.Concat(recordB.Calls).Any(c => c.StartsWith("GET /matchmaking/tickets/")), "no poll: " + string.Join(", ", recordA.Calls.Concat(recordB.Calls).ToArray()));
            Assert.AreEqual(RealtimeState.Stopped, realtimeA.State);
        }

        [Test]
        public void APushFeedRaisesAnUnlockOnceOnTheMainThreadWithoutPolling()
        {
            var record = new RecordingTransport(new HttpClientTransport());
            var player = Guest(record);
            var feed = new PushFeed(player, new RealtimeConnection(player, new RealtimeOptions { Url = Env("GAMEBACKEND_WS_URL") }));
            var unlocks = new List<AchievementUnlocked>();
            var errors = new List<Exception>();
            var read = new TaskCompletionSource<bool>();
            var unlocked = new TaskCompletionSource<bool>();
            feed.OnInboxRead += page => read.TrySetResult(true);
            feed.OnAchievementUnlocked += unlock =>
            {
                MainThreadContext.Check("OnAchievementUnlocked");
                unlocks.Add(unlock);
                unlocked.TrySetResult(true);
            };
            feed.OnError += errors.Add;
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Task.WhenAny(read.Task, run);  // connected, and the inbox read once since
                Assert.AreEqual(PushMode.Pushing, feed.Mode, "errors: " + string.Join("; ", errors.Select(e => e.Message).ToArray()));
                // One kill reaches first_blood's target: the server pushes the unlock.
                await player.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } });
                await Task.WhenAny(unlocked.Task, run);
                feed.Stop();
                await run;
            });
            var only = unlocks.Single();
            Assert.AreEqual("first_blood", only.AchievementId);
            StringAssert.Contains("First Blood", only.Title);
            Assert.Greater(only.Points, 0);
            Assert.IsNotNull(only.NotificationId, "the push names the inbox notification, so polling would not raise it again");
            Assert.AreEqual(1, feed.InboxReads, "read once, on connecting; never while the socket is up");
            Assert.AreEqual(1, record.Calls.Count(c => c == "GET /notifications"), string.Join(", ", record.Calls.ToArray()));
            CollectionAssert.IsEmpty(errors);
            Assert.AreEqual(PushMode.Stopped, feed.Mode);
        }

        [Test]
        public void APushFeedWhoseSocketCannotConnectRaisesTheUnlockFromTheInbox()
        {
            var record = new RecordingTransport(new HttpClientTransport());
            var player = Guest(record);
            Env("GAMEBACKEND_WS_URL");
            // Nothing listens on the discard port: every connection fails, and the feed polls.
            var unreachable = new RealtimeConnection(player, new RealtimeOptions { Url = "ws://127.0.0.1:9/api" });
            var feed = new PushFeed(player, unreachable, new PushFeedOptions { PollInterval = TimeSpan.FromMilliseconds(100) });
            var unlocks = new List<AchievementUnlocked>();
            var modes = new List<PushMode>();
            var read = new TaskCompletionSource<bool>();
            var unlocked = new TaskCompletionSource<bool>();
            feed.OnInboxRead += page => read.TrySetResult(true);
            feed.ModeChanged += modes.Add;
            feed.OnAchievementUnlocked += unlock =>
            {
                MainThreadContext.Check("OnAchievementUnlocked");
                unlocks.Add(unlock);
                unlocked.TrySetResult(true);
            };
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Task.WhenAny(read.Task, run);  // the first read: what was unread before is not raised
                await player.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } });
                await Task.WhenAny(unlocked.Task, run);
                feed.Stop();
                await run;
            });
            var only = unlocks.Single();
            Assert.AreEqual("first_blood", only.AchievementId);
            Assert.AreEqual("First Blood", only.Title, "the inbox title's prefix is dropped: the same title as the push");
            Assert.Greater(only.Points, 0);
            Assert.IsNotNull(only.NotificationId);
            Assert.AreEqual(PushMode.Polling, modes.First(m => m != PushMode.Connecting), "the socket never came up");
            CollectionAssert.DoesNotContain(modes, PushMode.Pushing);
            Assert.GreaterOrEqual(feed.InboxReads, 2);
        }
    }
}
