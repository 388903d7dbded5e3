using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>Retries and idempotency keys, configuration, cancellation, frame-driven waits, the event journal, stripping.</summary>
    [TestFixture]
    public class PlatformTests
    {
        private static string TokensJson()
        {
            return "{\"player_id\":\"p1\",\"id_token\":\"t1\",\"access_token\":\"a\",\"refresh_token\":\"r1\",\"expires_in\":100000,\"username\":\"g\",\"password\":\"pw\"}";
        }

        private static BackendClient SignedIn(FakeTransport transport, FakeTime time, BackendOptions options = null)
        {
            var client = new BackendClient(options ?? new BackendOptions { BaseUrl = "http://x" }, transport, null, time);
            client.Retries = new Backoff(new Random(3)) { Base = client.Options.RetryBase, Max = client.Options.RetryMax };
            Sync.Run(() => client.SignInAsGuestAsync());
            return client;
        }

        private static string Folder()
        {
            var path = Path.Combine(Path.GetTempPath(), "gamebackend-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        [Test]
        public void AWriteCarriesOneIdempotencyKeyReusedOnEachRetry()
        {
            var stats = 0;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson());
                stats++;
                if (stats == 1) return FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}", "Retry-After", "3");
                if (stats == 2) throw new NetworkException("connection reset");
                return FakeTransport.Answer(200, "{\"player_id\":\"p1\",\"stats\":{\"kills\":1}}");
            });
            var time = new FakeTime();
            var client = SignedIn(transport, time);
            var view = Sync.RunResult(() => client.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } }));
            Assert.AreEqual(1, view.Get("kills"));
            var writes = transport.Requests.Skip(1).ToList();
            Assert.AreEqual(3, writes.Count, "sent, retried after 503, retried after a lost connection");
            var keys = writes.Select(r => r.Headers[BackendClient.IdempotencyHeader]).Distinct().ToList();
            Assert.AreEqual(1, keys.Count, "the same key on every attempt of one call");
            Guid parsed;
            Assert.IsTrue(Guid.TryParse(keys[0], out parsed));
            Assert.AreEqual(2, time.Delays.Count);
            Assert.GreaterOrEqual(time.Delays[0].TotalSeconds, 3.0, "Retry-After is a floor");
            Assert.LessOrEqual(time.Delays[1].TotalSeconds, 1.0, "second retry: full jitter within base * 2");

            // The next logical call gets its own key; reads and the sign-in carry none.
            Sync.Run(() => client.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } }));
            Assert.AreNotEqual(keys[0], transport.Requests.Last().Headers[BackendClient.IdempotencyHeader]);
            Assert.IsFalse(transport.Requests[0].Headers.ContainsKey(BackendClient.IdempotencyHeader));
        }

        [Test]
        public void EveryNonIdempotentWriteSendsAKey()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson())
                : FakeTransport.Answer(200, r.Url.Contains("/upload") ? "{\"upload_id\":\"u\",\"url\":\"http://s3/x\",\"headers\":{}}" : "{\"ticket_id\":\"k\",\"status\":\"matched\"}"));
            var client = SignedIn(transport, new FakeTime());
            Sync.Run(() => client.Leaderboards.SubmitScoreAsync("global", 10));
            Sync.Run(() => client.Matchmaking.CreateTicketAsync("duel", "eu-west-1"));
            Sync.Run(() => client.Saves.PutAsync("main", new JObject { { "level", 1 } }, 0));
            Sync.Run(() => client.Saves.PutLargeAsync("big", new byte[] { 1, 2, 3 }, 0));
            Sync.Run(() => client.Achievements.ReportProgressAsync("tutorial_graduate", 1));
            var keyed = transport.Requests.Where(r => r.Headers.ContainsKey(BackendClient.IdempotencyHeader)).Select(r => r.Method + " " + new Uri(r.Url).AbsolutePath).ToList();
            CollectionAssert.AreEqual(new[]
            {
                "POST /leaderboards/global/scores", "POST /matchmaking/tickets", "PUT /saves/main",
                "POST /saves/big/upload", "POST /saves/big/commit", "POST /achievements/tutorial_graduate/progress",
            }, keyed);
            Assert.IsFalse(transport.Requests.Any(r => r.Url.StartsWith("http://s3/") && r.Headers.ContainsKey("Authorization")), "no token to storage");
        }

        [Test]
        public void OnlyReadsAndKeyedWritesAreRetried()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson())
                : FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}"));
            var time = new FakeTime();
            var client = SignedIn(transport, time);
            Sync.Throws<ServiceUnavailableException>(() => client.Players.RenameAsync("Ann"));
            Assert.AreEqual(2, transport.Requests.Count, "PATCH without a key: sent once");
            Sync.Throws<ServiceUnavailableException>(() => client.Players.GetMeAsync());
            Assert.AreEqual(2 + 3, transport.Requests.Count, "GET: MaxAttempts requests");
            Assert.AreEqual(2, time.Delays.Count);
        }

        [Test]
        public void ALongRetryAfterGoesToTheGameInsteadOfBlockingTheCall()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson())
                : FakeTransport.Answer(429, "{\"error\":\"slow down\",\"code\":\"rate_limited\"}", "Retry-After", "120"));
            var time = new FakeTime();
            var client = SignedIn(transport, time);
            var error = Sync.Throws<RateLimitedException>(() => client.Leaderboards.GetTopAsync("global"));
            Assert.AreEqual(TimeSpan.FromSeconds(120), error.RetryAfter);
            Assert.AreEqual(0, time.Delays.Count);
            Assert.AreEqual(2, transport.Requests.Count);
        }

        [Test]
        public void PlainHttpIsRefusedOutsideLocal()
        {
            new BackendOptions { BaseUrl = "http://192.168.1.20:8000", Environment = BackendEnvironment.Local }.Validate();
            new BackendOptions { BaseUrl = "https://api.example.com", Environment = BackendEnvironment.Production }.Validate();
            foreach (var env in new[] { BackendEnvironment.Staging, BackendEnvironment.Production })
            {
                var local = env;
                var error = Assert.Throws<ArgumentException>(() => new BackendClient(new BackendOptions { BaseUrl = "http://api.example.com", Environment = local }, new FakeTransport(r => null)));
                StringAssert.Contains("https", error.Message);
            }
            Assert.Throws<ArgumentException>(() => new BackendOptions { BaseUrl = "api.example.com" }.Validate());
            Assert.Throws<ArgumentException>(() => new BackendOptions { BaseUrl = "ftp://api.example.com" }.Validate());
        }

        [Test]
        public void CancellingAMatchSearchStopsPollingAndCancelsTheTicket()
        {
            var search = new CancellationTokenSource();
            var polls = 0;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson());
                if (r.Method == "GET")
                {
                    polls++;
                    if (polls == 2) search.Cancel();  // the MonoBehaviour is disabled while the second poll is in flight
                }
                var status = r.Method == "DELETE" ? "cancelled" : "searching";
                return FakeTransport.Answer(r.Method == "POST" ? 201 : 200, "{\"ticket_id\":\"k1\",\"status\":\"" + status + "\"}");
            });
            var client = SignedIn(transport, new FakeTime());
            Sync.Throws<OperationCanceledException>(() => client.Matchmaking.FindMatchAsync("duel", "eu-west-1", null, search.Token));
            CollectionAssert.AreEqual(new[]
            {
                "POST /auth/guest", "POST /matchmaking/tickets", "GET /matchmaking/tickets/k1", "GET /matchmaking/tickets/k1", "DELETE /matchmaking/tickets/k1",
            }, transport.Paths(), "no poll after the cancel; the ticket leaves the queue");
        }

        [Test]
        public void FrameDrivenWaitsCompleteOnlyOnTicksAndResumeOnTheTickingThread()
        {
            var seconds = 0.0;
            var frames = new FrameTime(() => seconds);
            var answers = 0;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson());
                answers++;
                return answers == 1
                    ? FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}", "Retry-After", "2")
                    : FakeTransport.Answer(200, "{\"player_id\":\"p1\",\"display_name\":\"Ann\"}");
            });
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, null, frames);
            var ticksBeforeAnswer = 0;
            Sync.Run(async () =>
            {
                await client.SignInAsGuestAsync();
                var call = client.Players.GetMeAsync();
                // The game's frames: 0.5 s each; only Tick() (the player loop) moves the wait on.
                while (!call.IsCompleted)
                {
                    await Task.Yield();
                    if (frames.Pending == 0) continue;
                    seconds += 0.5;
                    ticksBeforeAnswer++;
                    frames.Tick();
                }
                Assert.AreEqual("Ann", (await call).DisplayName);
            });
            Assert.AreEqual(4, ticksBeforeAnswer, "a 2 s Retry-After waits four 0.5 s frames");

            var cancel = new CancellationTokenSource();
            var wait = frames.Delay(TimeSpan.FromSeconds(10), cancel.Token);
            cancel.Cancel();
            Assert.IsFalse(wait.IsCompleted, "nothing happens between frames");
            frames.Tick();
            Assert.IsTrue(wait.IsCanceled);
            Assert.AreEqual(0, frames.Pending);
        }

        [Test]
        public void TrackAppendsOneLineAndNeverRewritesTheQueue()
        {
            var folder = Folder();
            var path = Path.Combine(folder, "events.jsonl");
            var journal = new CountingJournal(new FileEventJournal(path));
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, new FakeTransport(r => null), null, new FakeTime());
            var tracker = new EventTracker(client, journal) { MaxQueued = 5000 };
            var data = new Dictionary<string, object> { { "level", 4 }, { "weapon", "bow" } };
            for (var i = 0; i < 1000; i++) tracker.Track("warmup", data);
            var before = new FileInfo(path).Length;
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 100; i++) tracker.Track("level_complete", data);
            clock.Stop();
            Assert.AreEqual(1100, journal.Appends);
            Assert.AreEqual(0, journal.Rewrites, "Track never rewrites the queue");
            var grown = new FileInfo(path).Length - before;
            Assert.Less(grown, 100 * 400, "100 events add about 100 lines, not 100 copies of the queue");
            Assert.AreEqual(1000, new EventTracker(client, new FileEventJournal(path)).Pending, "read back after a restart, the newest MaxQueued (1,000 by default)");
            // A figure, not a threshold: what one Track costs with 1,000+ events queued, on this machine.
            Console.WriteLine("FIGURE track_with_1000_queued_us " + (clock.Elapsed.TotalMilliseconds * 1000 / 100).ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
        }

        [Test]
        public void SentEventsAreAcknowledgedAndTheJournalIsCompactedDuringAFlush()
        {
            var folder = Folder();
            var path = Path.Combine(folder, "events.jsonl");
            var journal = new CountingJournal(new FileEventJournal(path));
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson())
                : FakeTransport.Answer(202, "{\"accepted\":10,\"duplicates\":0,\"rejected\":[]}"));
            var client = SignedIn(transport, new FakeTime());
            // 25 events and 2 acknowledgements make 27 lines: at the threshold the journal is kept; the next acknowledgement crosses it.
            var tracker = new EventTracker(client, journal) { CompactAfterLines = 27 };
            for (var i = 0; i < 25; i++) tracker.Track("e");
            tracker.BatchSize = 10;
            transport.Handler = r => r.Url.EndsWith("/events") && transport.Requests.Count(q => q.Url.EndsWith("/events")) > 2
                ? FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}")
                : FakeTransport.Answer(202, "{\"accepted\":10,\"duplicates\":0,\"rejected\":[]}");
            var result = Sync.RunResult(() => tracker.FlushAsync(1));
            Assert.AreEqual(5, result.Remaining, "two batches sent, the third refused for now");
            Assert.AreEqual(0, journal.Rewrites, "under the threshold: no compaction");
            Assert.AreEqual(5, new EventTracker(client, new FileEventJournal(path)).Pending, "acknowledged events do not come back after a restart");

            transport.Handler = r => FakeTransport.Answer(202, "{\"accepted\":5,\"duplicates\":0,\"rejected\":[]}");
            Sync.Run(() => tracker.FlushAsync());
            Assert.AreEqual(1, journal.Rewrites, "over the threshold: the journal is rewritten as the (empty) queue");
            Assert.AreEqual(0, File.ReadAllText(path).Trim().Length);
        }

        [Test]
        public void ALineTornByACrashIsSkippedAndTheOthersKept()
        {
            var path = Path.Combine(Folder(), "events.jsonl");
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, new FakeTransport(r => null), null, new FakeTime());
            var tracker = new EventTracker(client, new FileEventJournal(path));
            tracker.Track("a");
            tracker.Track("b");
            File.AppendAllText(path, "{\"event_id\":\"torn\",\"type\":\"c\",\"da");  // the game died mid-write
            var restarted = new EventTracker(client, new FileEventJournal(path));
            Assert.AreEqual(2, restarted.Pending);
            Assert.AreEqual(1, restarted.SkippedLines);
            restarted.Track("d");
            var again = new EventTracker(client, new FileEventJournal(path));
            Assert.AreEqual(3, again.Pending, "an event appended after a torn line is read back whole");
        }

        [Test]
        public void WithoutConsentEventsStayOnTheDeviceAndNothingIsSent()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson())
                : FakeTransport.Answer(202, "{\"accepted\":2,\"duplicates\":0,\"rejected\":[]}"));
            var client = SignedIn(transport, new FakeTime());
            var tracker = new EventTracker(client, new MemoryEventJournal(), null, null, false);
            tracker.Track("a");
            tracker.Track("b");
            var held = Sync.RunResult(() => tracker.FlushAsync());
            Assert.AreEqual(0, held.Attempts);
            Assert.AreEqual(2, held.Remaining);
            Assert.AreEqual(1, transport.Requests.Count, "only the sign-in");
            tracker.SendingAllowed = true;
            var sent = Sync.RunResult(() => tracker.FlushAsync());
            Assert.AreEqual(2, sent.Accepted);
            Assert.AreEqual(0, tracker.Pending);
        }

        [Test]
        public void TheTestContextCatchesCodeThatLeavesTheMainThread()
        {
            var transport = new FakeTransport(r => FakeTransport.Answer(200, "{}"));
            string message = null;
            try
            {
                Sync.Run(async () =>
                {
                    await Task.Run(() => { }).ConfigureAwait(false);  // what the client must never do
                    await transport.SendAsync(new HttpRequestData { Url = "http://x/health" }, CancellationToken.None);
                });
            }
            catch (AssertionException e)
            {
                message = e.Message;
            }
            Assert.IsNotNull(message, "a call made off the main thread must fail the test");
            StringAssert.Contains("left the main-thread context", message);
        }

        [Test]
        public void NoAnonymousTypesAndEveryTypeTheSerializerReachesIsPreserved()
        {
            var assembly = typeof(BackendClient).Assembly;
            var anonymous = assembly.GetTypes().Where(t => t.Name.Contains("AnonType") || t.Name.Contains("AnonymousType")).ToList();
            CollectionAssert.IsEmpty(anonymous, "anonymous types are reached only by reflection and cannot be preserved");

            // Roots: every request body, every answer a service method decodes, what is kept on the device.
            var roots = new HashSet<Type>(assembly.GetTypes().Where(t => t.Name.EndsWith("Request") && t.Namespace == "GameBackend"));
            roots.Add(typeof(StoredCredentials));
            roots.Add(typeof(JournalAck));
            roots.Add(typeof(Tokens));
            foreach (var api in assembly.GetTypes().Where(t => t.Name.EndsWith("Api")))
            {
                foreach (var method in api.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    var returned = method.ReturnType;
                    if (returned.IsGenericType && returned.GetGenericTypeDefinition() == typeof(Task<>)) roots.Add(returned.GetGenericArguments()[0]);
                }
            }
            var seen = new HashSet<Type>();
            var missing = new List<string>();
            var queue = new Queue<Type>(roots);
            while (queue.Count > 0)
            {
                var type = queue.Dequeue();
                if (type.IsGenericType)
                {
                    foreach (var arg in type.GetGenericArguments()) queue.Enqueue(arg);
                    continue;
                }
                if (type.IsArray)
                {
                    queue.Enqueue(type.GetElementType());
                    continue;
                }
                if (type.Assembly != assembly || !seen.Add(type)) continue;
                if (!Preserved(type)) missing.Add(type.Name);
                foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
                {
                    if (!Preserved(field)) missing.Add(type.Name + "." + field.Name);
                    queue.Enqueue(field.FieldType);
                }
            }
            CollectionAssert.IsEmpty(missing, "not preserved from stripping");
            Assert.Greater(seen.Count, 30, "the walk reached the models");
        }

        private static bool Preserved(MemberInfo member)
        {
            return member.GetCustomAttributes(false).Any(a => a.GetType().Name == "PreserveAttribute");
        }
    }
}
