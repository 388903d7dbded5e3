using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>
    /// The feed behind GameBackendManager's OnMatchFound, OnNotification and OnAchievementUnlocked:
    /// pushes while the socket is up, the inbox polled while it is down or missing, each notification
    /// raised once, every event on the main-thread context. The socket and the clock are driven by
    /// the test: nothing waits on real time.
    /// </summary>
    [TestFixture]
    public class PushFeedTests
    {
        private const string Guest = "{\"player_id\":\"p1\",\"id_token\":\"t1\",\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":100000,\"username\":\"g\",\"password\":\"pw\"}";

        /// <summary>The backend: guest sign-in, and an inbox whose unread page the test sets.</summary>
        private sealed class Backend
        {
            public readonly FakeTransport Transport;
            public string Inbox = "[]";
            public int InboxStatus = 200;
            public string InboxError = "{}";

            public Backend()
            {
                Transport = new FakeTransport(request =>
                {
                    if (request.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, Guest);
                    if (request.Url.Contains("/notifications?"))
                    {
                        if (InboxStatus != 200) return FakeTransport.Answer(InboxStatus, InboxError);
                        return FakeTransport.Answer(200, "{\"notifications\":" + Inbox + ",\"next_cursor\":null,\"unread_count\":0}");
                    }
                    return FakeTransport.Answer(404, "{\"error\":\"no\",\"code\":\"not_found\"}");
                });
            }

            public int InboxRequests
            {
                get { return Transport.Paths().Count(p => p.StartsWith("GET /notifications")); }
            }
        }

        private static string Note(string id, string kind, string title, string data)
        {
            return "{\"id\":\"" + id + "\",\"kind\":\"" + kind + "\",\"title\":\"" + title + "\",\"body\":\"b\",\"data\":" + data + ",\"created_at\":\"t\",\"read\":false}";
        }

        /// <summary>Everything the feed raised, and whether each event came on the main-thread context.</summary>
        private sealed class Received
        {
            public readonly List<string> Events = new List<string>();
            public readonly List<Exception> Errors = new List<Exception>();
            public readonly List<PushMode> Modes = new List<PushMode>();

            public Received(PushFeed feed)
            {
                feed.OnMatchFound += m => Add("match " + m.MatchId);
                feed.OnNotification += n => Add("note " + n.Id + " " + n.Title);
                feed.OnAchievementUnlocked += a => Add("unlock " + a.AchievementId + " " + a.Title + " " + a.Points);
                feed.OnPeriodClosed += p => Add("period " + p.Board + " " + p.Rank);
                feed.OnTicketTimedOut += t => Add("timeout " + t.TicketId);
                feed.OnError += Errors.Add;
                feed.ModeChanged += Modes.Add;
            }

            private void Add(string what)
            {
                MainThreadContext.Check("event " + what);
                Events.Add(what);
            }
        }

        /// <summary>Let posted continuations run until the condition holds (bounded: a test that never gets there fails, it does not hang).</summary>
        private static async Task Until(Func<bool> condition, string what)
        {
            for (var turns = 0; !condition(); turns++)
            {
                if (turns > 10000) Assert.Fail("never happened: " + what);
                await Task.Yield();
            }
        }

        private static BackendClient SignedIn(Backend backend, ManualTime time)
        {
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, backend.Transport, null, time);
            Sync.Run(() => client.SignInAsGuestAsync());
            return client;
        }

        [Test]
        public void PushesReachTheGameOnTheMainThreadAndNothingIsPolledWhileTheSocketIsUp()
        {
            var backend = new Backend();
            var time = new ManualTime();
            var client = SignedIn(backend, time);
            var sockets = new ScriptedSockets();
            var realtime = new RealtimeConnection(client, new RealtimeOptions { Url = "ws://x/api" }, sockets);
            var feed = new PushFeed(client, realtime, new PushFeedOptions { PollInterval = TimeSpan.FromSeconds(20) });
            var got = new Received(feed);
            backend.Inbox = "[" + Note("old", "admin", "Before the start", "{}") + "]";
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Until(() => feed.Mode == PushMode.Pushing && feed.InboxReads == 1, "connected, inbox read once");
                var socket = sockets.Opened.Single();
                socket.Push("{\"type\":\"match_found\",\"sent_at\":\"t\",\"data\":{\"match_id\":\"m1\",\"ticket_id\":\"k1\",\"notification_id\":\"n1\"}}");
                socket.Push("{\"type\":\"notification\",\"sent_at\":\"t\",\"data\":{\"id\":\"n2\",\"kind\":\"gift\",\"title\":\"Gift\",\"created_at\":\"t\"}}");
                socket.Push("{\"type\":\"achievement_unlocked\",\"sent_at\":\"t\",\"data\":{\"achievement_id\":\"first_blood\",\"title\":\"First\",\"points\":5,\"notification_id\":\"n3\"}}");
                socket.Push("{\"type\":\"ticket_timed_out\",\"sent_at\":\"t\",\"data\":{\"ticket_id\":\"k2\"}}");
                socket.Push("{\"type\":\"period_closed\",\"sent_at\":\"t\",\"data\":{\"board\":\"daily\",\"period\":\"p\",\"rank\":2,\"score\":1,\"notification_id\":\"n4\"}}");
                await Until(() => got.Events.Count == 5, "five pushes raised");
                feed.Stop();
                await run;
            });
            CollectionAssert.AreEqual(new[] { "match m1", "note n2 Gift", "unlock first_blood First 5", "timeout k2", "period daily 2" }, got.Events);
            Assert.AreEqual(1, backend.InboxRequests, "the inbox is read once, when the socket comes up; never while it is up");
            Assert.AreEqual(0, time.Pending, "nothing left waiting");
            CollectionAssert.AreEqual(new[] { PushMode.Connecting, PushMode.Pushing, PushMode.Stopped }, got.Modes);
            Assert.AreEqual(RealtimeState.Stopped, realtime.State);
            CollectionAssert.IsEmpty(got.Errors);
        }

        [Test]
        public void WhenTheSocketDropsTheInboxIsPolledUntilItReconnectsAndNothingIsRaisedTwice()
        {
            var backend = new Backend();
            var time = new ManualTime();
            var client = SignedIn(backend, time);
            var sockets = new ScriptedSockets();
            var realtime = new RealtimeConnection(client, new RealtimeOptions { Url = "ws://x/api" }, sockets);
            var feed = new PushFeed(client, realtime, new PushFeedOptions { PollInterval = TimeSpan.FromSeconds(20) });
            var got = new Received(feed);
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Until(() => feed.Mode == PushMode.Pushing && feed.InboxReads == 1, "connected");
                sockets.Opened[0].Push("{\"type\":\"notification\",\"sent_at\":\"t\",\"data\":{\"id\":\"n1\",\"kind\":\"gift\",\"title\":\"Pushed\",\"created_at\":\"t\"}}");
                await Until(() => got.Events.Count == 1, "the push");

                // The socket drops and the next connection is refused for now: polling takes over.
                sockets.Refuse = true;
                backend.Inbox = "[" + Note("n2", "achievement_unlocked", "Achievement unlocked: Sharpshooter", "{\"achievement_id\":\"sharp\",\"points\":10}") + "," + Note("n1", "gift", "Pushed", "{}") + "]";
                sockets.Opened[0].Drop();
                await Until(() => feed.Mode == PushMode.Polling && feed.InboxReads == 2, "polling after the drop");
                Assert.AreEqual("unlock sharp Sharpshooter 10", got.Events.Last(), "an unlock missed while down comes from the inbox, typed");

                // Time passes: the feed polls every PollInterval while the socket keeps failing.
                backend.Inbox = "[" + Note("n3", "match_found", "Match found", "{\"match_id\":\"m3\",\"queue\":\"duel\",\"region\":\"eu\"}") + "," + backend.Inbox.Substring(1);
                await Until(() => time.Waiting(TimeSpan.FromSeconds(20)), "the poll wait");
                time.Advance(TimeSpan.FromSeconds(20));
                await Until(() => feed.InboxReads == 3 && sockets.Attempts == 2 && time.Pending == 2, "the next poll, and a failed reconnection");
                Assert.AreEqual("match m3", got.Events.Last());

                // The socket comes back: one more read (a push may have been missed), then pushes only.
                sockets.Refuse = false;
                backend.Inbox = "[" + Note("n4", "admin", "Missed", "{}") + "," + backend.Inbox.Substring(1);
                time.Advance(TimeSpan.FromSeconds(2));  // the reconnection's backoff (at most 2 s), not the next poll
                await Until(() => feed.Mode == PushMode.Pushing && feed.InboxReads == 4, "reconnected and read once");
                sockets.Opened.Last().Push("{\"type\":\"notification\",\"sent_at\":\"t\",\"data\":{\"id\":\"n4\",\"kind\":\"admin\",\"title\":\"Missed\",\"created_at\":\"t\"}}");
                sockets.Opened.Last().Push("{\"type\":\"notification\",\"sent_at\":\"t\",\"data\":{\"id\":\"n5\",\"kind\":\"admin\",\"title\":\"Live\",\"created_at\":\"t\"}}");
                await Until(() => got.Events.Last() == "note n5 Live", "the push after reconnecting");
                feed.Stop();
                await run;
            });
            CollectionAssert.AreEqual(new[] { "note n1 Pushed", "unlock sharp Sharpshooter 10", "match m3", "note n4 Missed", "note n5 Live" }, got.Events);
            Assert.AreEqual(4, backend.InboxRequests);
            Assert.AreEqual(3, sockets.Attempts, "it reconnected through the realtime connection's backoff");
            CollectionAssert.IsEmpty(got.Errors);
        }

        [Test]
        public void WithoutASocketTheInboxIsPolledAndNotificationsUnreadAtTheStartAreNotRaised()
        {
            var backend = new Backend();
            var time = new ManualTime();
            var client = SignedIn(backend, time);
            var feed = new PushFeed(client, null, new PushFeedOptions { PollInterval = TimeSpan.FromSeconds(15) });
            var got = new Received(feed);
            backend.Inbox = "[" + Note("old", "admin", "Old", "{}") + "]";
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Until(() => feed.InboxReads == 1 && time.Waiting(TimeSpan.FromSeconds(15)), "the first read");
                backend.Inbox = "[" + Note("p1", "leaderboard_period_ended", "Daily closed", "{\"board\":\"daily\",\"period\":\"p\",\"rank\":3,\"score\":7}") + "," + Note("old", "admin", "Old", "{}") + "]";
                time.Advance(TimeSpan.FromSeconds(15));
                await Until(() => feed.InboxReads == 2 && time.Waiting(TimeSpan.FromSeconds(15)), "the second read");
                feed.Stop();
                await run;
            });
            CollectionAssert.AreEqual(new[] { "period daily 3" }, got.Events);
            CollectionAssert.AreEqual(new[] { PushMode.Polling, PushMode.Stopped }, got.Modes);
            Assert.AreEqual(0, time.Pending, "Stop cancels the poll wait");
        }

        [Test]
        public void AHandlerThatThrowsDoesNotStopTheFeedAndABannedAccountDoes()
        {
            var backend = new Backend();
            var time = new ManualTime();
            var client = SignedIn(backend, time);
            var feed = new PushFeed(client, null, new PushFeedOptions { PollInterval = TimeSpan.FromSeconds(15) });
            var got = new Received(feed);
            feed.OnNotification += n => { throw new InvalidOperationException("the game's bug"); };
            Sync.Run(async () =>
            {
                var run = feed.RunAsync();
                await Until(() => feed.InboxReads == 1 && time.Waiting(TimeSpan.FromSeconds(15)), "the first read");
                backend.Inbox = "[" + Note("n1", "admin", "Hello", "{}") + "]";
                time.Advance(TimeSpan.FromSeconds(15));
                await Until(() => feed.InboxReads == 2 && time.Waiting(TimeSpan.FromSeconds(15)), "the second read, and still polling");
                backend.InboxStatus = 403;
                backend.InboxError = "{\"error\":\"banned\",\"code\":\"account_banned\"}";
                time.Advance(TimeSpan.FromSeconds(15));
                await run;  // ends by itself
            });
            Assert.AreEqual("note n1 Hello", got.Events.Single());
            Assert.AreEqual(2, got.Errors.Count, string.Join("; ", got.Errors.Select(e => e.Message).ToArray()));
            Assert.AreEqual("the game's bug", got.Errors[0].Message);
            Assert.IsInstanceOf<AccountBannedException>(got.Errors[1]);
            Assert.AreEqual(AuthState.Banned, client.State);
            Assert.AreEqual(PushMode.Stopped, feed.Mode);
            Assert.IsFalse(feed.IsRunning);
        }
    }

    /// <summary>The realtime URL a settings asset may give: wss:// outside Local, as for HTTPS.</summary>
    [TestFixture]
    public class RealtimeOptionsTests
    {
        [Test]
        public void PlainWebSocketsAreForLocalOnly()
        {
            new RealtimeOptions { Url = "ws://127.0.0.1:8001/api" }.Validate(BackendEnvironment.Local);
            new RealtimeOptions { Url = "wss://ws.example.com/prod" }.Validate(BackendEnvironment.Production);
            Assert.Throws<ArgumentException>(() => new RealtimeOptions { Url = "ws://ws.example.com/prod" }.Validate(BackendEnvironment.Production));
            Assert.Throws<ArgumentException>(() => new RealtimeOptions { Url = "ws://ws.example.com/stage" }.Validate(BackendEnvironment.Staging));
            Assert.Throws<ArgumentException>(() => new RealtimeOptions { Url = "https://example.com" }.Validate(BackendEnvironment.Local));
            Assert.Throws<ArgumentException>(() => new RealtimeOptions { Url = "" }.Validate(BackendEnvironment.Local));
        }
    }

    /// <summary>A clock whose waits end only when the test moves it (or on cancellation).</summary>
    public sealed class ManualTime : ITimeSource
    {
        private readonly List<KeyValuePair<DateTime, TaskCompletionSource<bool>>> _waits = new List<KeyValuePair<DateTime, TaskCompletionSource<bool>>>();
        public DateTime Now = new DateTime(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

        public DateTime UtcNow
        {
            get { return Now; }
        }

        public int Pending
        {
            get { return _waits.Count(w => !w.Value.Task.IsCompleted); }
        }

        /// <summary>True when something waits for exactly this long from now.</summary>
        public bool Waiting(TimeSpan delay)
        {
            return _waits.Any(w => !w.Value.Task.IsCompleted && w.Key == Now + delay);
        }

        public Task Delay(TimeSpan delay, CancellationToken cancellationToken)
        {
            MainThreadContext.Check("delay");
            cancellationToken.ThrowIfCancellationRequested();
            var done = new TaskCompletionSource<bool>();
            if (delay <= TimeSpan.Zero)
            {
                done.SetResult(true);
                return done.Task;
            }
            _waits.Add(new KeyValuePair<DateTime, TaskCompletionSource<bool>>(Now + delay, done));
            cancellationToken.Register(() => done.TrySetCanceled());
            return done.Task;
        }

        public void Advance(TimeSpan by)
        {
            Now += by;
            foreach (var wait in _waits.ToList())
            {
                if (wait.Key <= Now) wait.Value.TrySetResult(true);
            }
            _waits.RemoveAll(w => w.Value.Task.IsCompleted);
        }
    }

    /// <summary>WebSockets the test drives: it pushes messages, drops the connection, or refuses new ones.</summary>
    public sealed class ScriptedSockets : IWebSocketFactory
    {
        public readonly List<ScriptedSocket> Opened = new List<ScriptedSocket>();
        public bool Refuse;
        public int Attempts;

        public IWebSocket Create()
        {
            return new ScriptedSocket(this);
        }

        public bool SupportsHeaders
        {
            get { return true; }
        }

        public sealed class ScriptedSocket : IWebSocket
        {
            private readonly ScriptedSockets _factory;
            private readonly Queue<string> _inbox = new Queue<string>();
            private TaskCompletionSource<bool> _arrived = new TaskCompletionSource<bool>();
            private bool _dropped;
            public readonly List<string> Sent = new List<string>();

            public ScriptedSocket(ScriptedSockets factory)
            {
                _factory = factory;
            }

            public async Task ConnectAsync(Uri uri, string authorization, CancellationToken ct)
            {
                MainThreadContext.Check("socket connect");
                _factory.Attempts++;
                await Task.Yield();
                if (_factory.Refuse) throw new System.Net.WebSockets.WebSocketException("Unable to connect to the remote server");
                _factory.Opened.Add(this);
            }

            public Task SendAsync(string text, CancellationToken ct)
            {
                Sent.Add(text);
                return Task.FromResult(0);
            }

            public async Task<string> ReceiveAsync(CancellationToken ct)
            {
                while (true)
                {
                    if (_inbox.Count > 0) return _inbox.Dequeue();
                    if (_dropped) return null;
                    var arrived = _arrived.Task;
                    var cancelled = new TaskCompletionSource<bool>();
                    using (ct.Register(() => cancelled.TrySetCanceled()))
                    {
                        await Task.WhenAny(arrived, cancelled.Task);
                    }
                    ct.ThrowIfCancellationRequested();
                }
            }

            public void Push(string text)
            {
                _inbox.Enqueue(text);
                Wake();
            }

            public void Drop()
            {
                _dropped = true;
                Wake();
            }

            private void Wake()
            {
                var arrived = _arrived;
                _arrived = new TaskCompletionSource<bool>();
                arrived.TrySetResult(true);
            }

            public Task CloseAsync()
            {
                return Task.FromResult(0);
            }

            public void Dispose()
            {
            }
        }
    }
}
