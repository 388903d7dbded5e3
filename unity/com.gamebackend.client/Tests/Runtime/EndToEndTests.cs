using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>
    /// The client against a running backend over HTTP (HttpClientTransport). GAMEBACKEND_URL gives
    /// the base URL (`make run` serves http://127.0.0.1:8000); without it these tests are ignored.
    /// A test whose routes the backend does not serve yet is ignored with a message naming them.
    /// </summary>
    [TestFixture]
    public class EndToEndTests
    {
        private static readonly HttpClientTransport Http = new HttpClientTransport();
        private static HashSet<string> _routes;
        private static JObject _document;

        private static string Url
        {
            get
            {
                var url = Environment.GetEnvironmentVariable("GAMEBACKEND_URL");
                if (string.IsNullOrEmpty(url)) Assert.Ignore("GAMEBACKEND_URL is not set: no backend to test against");
                return url;
            }
        }

        /// <summary>Ignore the test unless the backend documents every one of these "METHOD /path" routes.</summary>
        private static void Require(params string[] routes)
        {
            if (_routes == null)
            {
                var client = new BackendClient(new BackendOptions { BaseUrl = Url }, Http);
                var document = Sync.RunResult(() => client.SendAsync<JObject>("GET", "/openapi.json", null, false));
                _document = document;
                var found = new HashSet<string>();
                foreach (var path in (JObject)document["paths"])
                {
                    foreach (var method in (JObject)path.Value) found.Add(Normalize(method.Key.ToUpperInvariant() + " " + path.Key));
                }
                _routes = found;
            }
            var missing = routes.Where(r => !_routes.Contains(Normalize(r))).ToArray();
            if (missing.Length > 0) Assert.Ignore("not served by this backend yet: " + string.Join(", ", missing));
        }

        /// <summary>Path parameters compared by position, not name: /a/{id} is /a/{board_id}.</summary>
        private static string Normalize(string route)
        {
            return System.Text.RegularExpressions.Regex.Replace(route, "\\{[^}]*\\}", "{}");
        }

        private static BackendClient NewClient(IKeyValueStore store = null, ITransport transport = null)
        {
            return new BackendClient(new BackendOptions { BaseUrl = Url }, new MainThreadTransport(transport ?? Http), new KeyValueCredentialStore(store ?? new MemoryStore()));
        }

        private static BackendClient Guest(string name = null)
        {
            var client = NewClient();
            Sync.Run(() => client.SignInAsGuestAsync(name));
            return client;
        }

        private static FileStore DeviceFolder()
        {
            return new FileStore(Path.Combine(Path.GetTempPath(), "gamebackend-device-" + Guid.NewGuid().ToString("N")));
        }

        [Test]
        public void TwoGuestsSignInUpdateTheirOwnStatsAndKeepTheirAccounts()
        {
            var deviceA = DeviceFolder();
            var a = NewClient(deviceA);
            var b = NewClient();
            var idA = Sync.RunResult(() => a.SignInAsGuestAsync());
            var idB = Sync.RunResult(() => b.SignInAsGuestAsync());
            Assert.AreNotEqual(idA, idB);

            var after = Sync.RunResult(() => a.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 3 }, { "high_score", 500 } }));
            Assert.AreEqual(idA, after.PlayerId);
            Assert.AreEqual(3, after.Get("kills"));
            after = Sync.RunResult(() => a.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 2 }, { "high_score", 400 } }));
            Assert.AreEqual(5, after.Get("kills"), "sum");
            Assert.AreEqual(500, after.Get("high_score"), "max keeps the best");
            Assert.AreEqual(0, Sync.RunResult(() => b.Stats.GetAsync()).Get("kills"), "B does not see A's stats");

            var tooMuch = Sync.Throws<InvalidRequestException>(() => a.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 5000 } }));
            Assert.AreEqual("invalid", tooMuch.Code);
            StringAssert.Contains("kills", tooMuch.Field);
            Sync.Throws<ForbiddenException>(() => a.Stats.UpdateAsync(new Dictionary<string, double> { { "rating", 4000 } }));
            Assert.AreEqual(5, Sync.RunResult(() => a.Stats.GetAsync()).Get("kills"), "refused updates wrote nothing");

            var renamed = Sync.RunResult(() => a.Players.RenameAsync("Ann the Brave"));
            Assert.AreEqual("Ann the Brave", renamed.DisplayName);
            var badName = Sync.Throws<InvalidRequestException>(() => a.Players.RenameAsync("x"));
            Assert.AreEqual("display_name", badName.Field);

            // The device keeps the guest's credentials: a restarted game is the same player.
            var restarted = NewClient(deviceA);
            Assert.AreEqual(idA, Sync.RunResult(() => restarted.SignInAsGuestAsync()));
            Assert.AreEqual("Ann the Brave", Sync.RunResult(() => restarted.Players.GetMeAsync()).DisplayName);
        }

        [Test]
        public void ARejectedTokenIsRefreshedAndTheCallRetriedOnce()
        {
            var flaky = new FlakyTransport(Http)
            {
                Matches = r => r.Url.EndsWith("/players/me"),
                Failures = 1,
                Rewrite = r => { r.Headers["Authorization"] = "Bearer not-a-token"; return r; },
            };
            var client = NewClient(null, flaky);
            var id = Sync.RunResult(() => client.SignInAsGuestAsync());
            var before = client.IdToken;
            var me = Sync.RunResult(() => client.Players.GetMeAsync());
            Assert.AreEqual(id, me.PlayerId);
            Assert.AreEqual(1, flaky.Broken);
            Assert.AreNotEqual(before, client.IdToken, "a fresh token after the 401");

            var unsigned = NewClient();
            var error = Sync.Throws<UnauthorizedException>(() => unsigned.Players.GetMeAsync());
            Assert.AreEqual("signed_out", error.Code);
        }

        [Test]
        public void AGuestUpgradesToAnEmailAccountAndSignsInWithIt()
        {
            var device = DeviceFolder();
            var guest = NewClient(device);
            var id = Sync.RunResult(() => guest.SignInAsGuestAsync());
            Sync.Run(() => guest.Stats.UpdateAsync(new Dictionary<string, double> { { "xp", 250 } }));
            var email = "p" + Guid.NewGuid().ToString("N").Substring(0, 12) + "@example.com";
            Assert.AreEqual(id, Sync.RunResult(() => guest.UpgradeAsync(email, "Upgrade-pass-42")));
            Assert.IsFalse(Sync.RunResult(() => guest.Players.GetMeAsync()).IsGuest);

            var elsewhere = NewClient();
            Assert.AreEqual(id, Sync.RunResult(() => elsewhere.SignInAsync(email, "Upgrade-pass-42")));
            Assert.AreEqual(250, Sync.RunResult(() => elsewhere.Stats.GetAsync()).Get("xp"));
            Sync.Throws<UnauthorizedException>(() => NewClient().SignInAsync(email, "wrong-Password-1"));

            // The device now keeps the refresh token, not a password: a restart is still the same player.
            Assert.AreEqual(id, Sync.RunResult(() => NewClient(device).SignInAsGuestAsync()));
        }

        [Test]
        public void ScoresAreSubmittedAndRanksRead()
        {
            Require("POST /leaderboards/{id}/scores", "GET /leaderboards/{id}", "GET /leaderboards/{id}/me", "GET /leaderboards/{id}/players");
            var a = Guest("Ranker A");
            var b = Guest("Ranker B");
            var boards = Sync.RunResult(() => a.Leaderboards.ListAsync());
            Assert.IsTrue(boards.Leaderboards.Any(d => d.Id == "daily_score"));

            // Scores unlikely to be anyone else's in this run: B just below A.
            var high = 90000000 + new Random().Next(0, 1000000) * 2;
            var submittedA = Sync.RunResult(() => a.Leaderboards.SubmitScoreAsync("daily_score", high));
            var submittedB = Sync.RunResult(() => b.Leaderboards.SubmitScoreAsync("daily_score", high - 1));
            Assert.IsTrue(submittedA.Changed);
            Assert.AreEqual(b.PlayerId, submittedB.Entry.PlayerId);
            Assert.AreEqual(high, submittedA.Entry.Score);
            Assert.AreEqual(a.PlayerId, submittedA.Entry.PlayerId);
            var lower = Sync.RunResult(() => a.Leaderboards.SubmitScoreAsync("daily_score", 1));
            Assert.IsFalse(lower.Changed, "best mode keeps the better score");

            var meA = Sync.RunResult(() => a.Leaderboards.GetMeAsync("daily_score", 1));
            var meB = Sync.RunResult(() => b.Leaderboards.GetMeAsync("daily_score", 1));
            Assert.AreEqual("Ranker A", meA.Entry.DisplayName);
            Assert.Less(meA.Entry.Rank, meB.Entry.Rank);
            Assert.IsTrue(meB.Entries.Any(e => e.PlayerId == a.PlayerId), "A is B's neighbour just above");

            var chosen = Sync.RunResult(() => a.Leaderboards.GetPlayersAsync("daily_score", new[] { a.PlayerId, b.PlayerId }));
            CollectionAssert.AreEquivalent(new[] { meA.Entry.Rank, meB.Entry.Rank }, chosen.Entries.Select(e => e.Rank).ToArray());

            var top = Sync.RunResult(() => a.Leaderboards.GetTopAsync("daily_score", 100));
            Assert.LessOrEqual(top.Entries.Count, 100);
            for (var i = 1; i < top.Entries.Count; i++) Assert.GreaterOrEqual(top.Entries[i - 1].Score, top.Entries[i].Score);
            if (meA.Entry.Rank <= top.Entries.Count) Assert.AreEqual(a.PlayerId, top.Entries[meA.Entry.Rank - 1].PlayerId);

            var periods = Sync.RunResult(() => a.Leaderboards.GetPeriodsAsync("daily_score"));
            Assert.AreEqual("daily_score", periods.Board);
            Assert.IsTrue(periods.Periods.All(p => p.Period != top.Period), "only closed periods are archived");

            var notFound = Sync.Throws<NotFoundException>(() => a.Leaderboards.GetTopAsync("no_such_board"));
            Assert.AreEqual(404, notFound.Status);
            Sync.Throws<InvalidRequestException>(() => a.Leaderboards.SubmitScoreAsync("daily_score", -5));
        }

        [Test]
        public void TwoGuestsAreMatchedWithEachOther()
        {
            Require("POST /matchmaking/tickets", "GET /matchmaking/tickets/{ticket_id}", "DELETE /matchmaking/tickets/{ticket_id}", "GET /matchmaking/matches/{match_id}");
            const string region = "ap-northeast-1";  // the least used region of the duel queue in this suite
            // Drain tickets other tests may have left waiting: a sweeper matched at once took one.
            for (var sweep = 0; ; sweep++)
            {
                Assert.Less(sweep, 20, "the duel queue keeps refilling");
                var sweeper = Guest();
                var probe = Sync.RunResult(() => sweeper.Matchmaking.CreateTicketAsync("duel", region));
                if (probe.Status == "searching")
                {
                    Sync.Run(() => sweeper.Matchmaking.CancelTicketAsync(probe.TicketId));
                    break;
                }
            }
            var a = Guest();
            var b = Guest();
            var ticketA = Sync.RunResult(() => a.Matchmaking.CreateTicketAsync("duel", region));
            Assert.AreEqual("searching", ticketA.Status);
            var again = Sync.Throws<ConflictException>(() => a.Matchmaking.CreateTicketAsync("duel", region));
            Assert.AreEqual(ticketA.TicketId, (string)again.Details["ticket_id"], "409 carries the open ticket");

            var poll = new PollOptions { FirstInterval = TimeSpan.FromMilliseconds(200), MaxInterval = TimeSpan.FromSeconds(1), GiveUpAfter = TimeSpan.FromSeconds(30) };
            var found = Sync.RunResult(() => b.Matchmaking.FindMatchAsync("duel", region, poll));
            var mine = Sync.RunResult(() => a.Matchmaking.WaitForMatchAsync(ticketA.TicketId, poll));
            Assert.AreEqual("matched", found.Status);
            Assert.AreEqual("matched", mine.Status);
            Assert.AreEqual(found.MatchId, mine.MatchId);
            var match = Sync.RunResult(() => a.Matchmaking.GetMatchAsync(mine.MatchId));
            CollectionAssert.AreEquivalent(new[] { a.PlayerId, b.PlayerId }, match.Players);
            Assert.AreEqual(2, match.Teams.Count);
            Sync.Throws<ConflictException>(() => a.Matchmaking.CancelTicketAsync(ticketA.TicketId));

            var c = Guest();
            Sync.Throws<NotFoundException>(() => c.Matchmaking.GetTicketAsync(ticketA.TicketId));
            Sync.Throws<InvalidRequestException>(() => c.Matchmaking.CreateTicketAsync("duel", "mars-north-1"));
            var lone = Sync.RunResult(() => c.Matchmaking.CreateTicketAsync("squads", "eu-west-1", null));
            var cancelled = Sync.RunResult(() => c.Matchmaking.CancelTicketAsync(lone.TicketId));
            Assert.AreEqual("cancelled", cancelled.Status);
        }

        [Test]
        public void ACloudSaveConflictIsSurfacedAndResolvedByMerging()
        {
            Require("GET /saves", "GET /saves/{slot}", "PUT /saves/{slot}", "DELETE /saves/{slot}");
            // One account on two devices: the second signs in with the credentials the first kept.
            var shared = DeviceFolder();
            var device1 = NewClient(shared);
            var device2 = NewClient(shared);
            var id = Sync.RunResult(() => device1.SignInAsGuestAsync());
            Assert.AreEqual(id, Sync.RunResult(() => device2.SignInAsGuestAsync()));

            var first = Sync.RunResult(() => device1.Saves.PutAsync("main", new { level = 1, coins = 10 }, 0));
            Assert.AreEqual(1, first.Version);
            var seenBy2 = Sync.RunResult(() => device2.Saves.GetAsync("main"));
            Assert.AreEqual(1, seenBy2.Version);
            var second = Sync.RunResult(() => device1.Saves.PutAsync("main", new { level = 2, coins = 15 }, first.Version));
            Assert.AreEqual(2, second.Version);

            // Device 2 writes on top of version 1: 409 with the server's version, nothing overwritten.
            var conflict = Sync.Throws<SaveConflictException>(() => device2.Saves.PutAsync("main", new { level = 1, coins = 99 }, seenBy2.Version));
            Assert.AreEqual(2, conflict.CurrentVersion);
            var current = Sync.RunResult(() => device2.Saves.GetAsync("main"));
            Assert.AreEqual(2, current.Version);
            Assert.AreEqual(15, (int)current.Data["coins"]);

            // Merge: keep the higher level, add the 5 coins device 2 earned offline.
            var merged = Sync.RunResult(() => device2.Saves.PutMergingAsync("main", JObject.FromObject(new { level = 1, coins = 15 }), seenBy2.Version,
                (server, mine) => new JObject { { "level", Math.Max((int)server.Data["level"], (int)mine["level"]) }, { "coins", (int)server.Data["coins"] + 5 } }));
            Assert.AreEqual(3, merged.Version);
            var final = Sync.RunResult(() => device1.Saves.GetAsync("main"));
            Assert.AreEqual(3, final.Version);
            Assert.AreEqual(2, (int)final.Data["level"]);
            Assert.AreEqual(20, (int)final.Data["coins"]);

            // A save over the inline cap: 413, then the presigned upload and commit, then the download.
            var big = new JObject { { "map", new string('x', 100000) } };
            Sync.Throws<PayloadTooLargeException>(() => device1.Saves.PutAsync("world", big, 0));
            var bigText = big.ToString(Newtonsoft.Json.Formatting.None);
            var large = Sync.RunResult(() => device1.Saves.PutLargeAsync("world", System.Text.Encoding.UTF8.GetBytes(bigText), 0));
            Assert.AreEqual(1, large.Version);
            Assert.AreEqual("s3", large.Storage);
            var readBack = Sync.RunResult(() => device2.Saves.GetAsync("world"));
            Assert.IsNotNull(readBack.DownloadUrl);
            Assert.AreEqual(bigText, Sync.RunResult(() => device2.Saves.DownloadAsync(readBack)));
            Sync.Throws<SaveConflictException>(() => device2.Saves.PutLargeAsync("world", new byte[] { 1, 2, 3 }, 0));

            var slots = Sync.RunResult(() => device1.Saves.ListAsync());
            Assert.AreEqual(3, slots.Slots.Single(s => s.Slot == "main").Version);
            var other = Guest();
            Sync.Throws<NotFoundException>(() => other.Saves.GetAsync("main"));
            Sync.Throws<SaveConflictException>(() => device1.Saves.DeleteAsync("main", 1));
            Sync.Run(() => device1.Saves.DeleteAsync("main", 3));
            Sync.Throws<NotFoundException>(() => device1.Saves.GetAsync("main"));
        }

        [Test]
        public void AnEventBatchWhoseFirstAttemptFailsInTheTransportIsCountedOnce()
        {
            Require("POST /events");
            // The first POST /events reaches the server, but the response is lost on the way back.
            var flaky = new FlakyTransport(Http) { Matches = r => r.Url.EndsWith("/events"), Failures = 1, LoseResponse = true };
            var client = NewClient(null, flaky);
            Sync.Run(() => client.SignInAsGuestAsync());
            var tracker = new EventTracker(client, new FileEventJournal(Path.Combine(Path.GetTempPath(), "gamebackend-device-" + Guid.NewGuid().ToString("N"), "events.jsonl")), null, new Backoff { Base = TimeSpan.FromMilliseconds(50), Max = TimeSpan.FromMilliseconds(200) });
            for (var i = 0; i < 7; i++) tracker.Track("level_complete", new Dictionary<string, object> { { "level", i } });
            var result = Sync.RunResult(() => tracker.FlushAsync());
            Assert.AreEqual(1, flaky.Broken);
            Assert.AreEqual(2, result.Attempts, "one failed attempt, one retry");
            Assert.AreEqual(0, result.Remaining);
            Assert.AreEqual(0, result.Rejected);
            Assert.AreEqual(0, result.Accepted, "the lost attempt had already stored them");
            Assert.AreEqual(7, result.Duplicates, "the resent batch is counted once");

            // A failure before anything is sent: the retry is the first the server sees.
            var early = new FlakyTransport(Http) { Matches = r => r.Url.EndsWith("/events"), Failures = 1 };
            var second = NewClient(null, early);
            Sync.Run(() => second.SignInAsGuestAsync());
            var tracker2 = new EventTracker(second, new MemoryEventJournal(), null, new Backoff { Base = TimeSpan.FromMilliseconds(50) });
            for (var i = 0; i < 12; i++) tracker2.Track("level_complete", new Dictionary<string, object> { { "level", i } });
            var result2 = Sync.RunResult(() => tracker2.FlushAsync());
            Assert.AreEqual(3, result2.Attempts, "batches of 10 and 2, the first retried once");
            Assert.AreEqual(12, result2.Accepted);
            Assert.AreEqual(0, result2.Duplicates);
        }

        [Test]
        public void AnUnlockedAchievementShowsInTheListAndTheInbox()
        {
            Require("GET /achievements", "POST /achievements/{id}/progress", "POST /players/me/stats",
                "GET /notifications", "POST /notifications/read", "DELETE /notifications/{id}");
            var player = Guest("Achiever");
            var before = Sync.RunResult(() => player.Achievements.ListAsync());
            Assert.AreEqual(player.PlayerId, before.PlayerId);
            var firstBlood = before.Achievements.Single(x => x.Id == "first_blood");
            Assert.IsFalse(firstBlood.Unlocked);
            Assert.AreEqual("threshold", firstBlood.Kind);
            Assert.AreEqual("kills", firstBlood.Stat);
            Assert.AreEqual(1, firstBlood.Target);
            Assert.AreEqual("xp", firstBlood.Reward.Stat);
            var hidden = before.Achievements.Single(x => x.Id == "speed_demon");
            Assert.IsTrue(hidden.Hidden);
            Assert.IsNull(hidden.Title, "a hidden, locked achievement is masked");
            Assert.AreEqual(0, Sync.RunResult(() => player.Notifications.ListAsync()).UnreadCount);

            // One kill reaches first_blood's target: it unlocks, with its reward and a notice.
            Sync.Run(() => player.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } }));
            var after = Sync.RunResult(() => player.Achievements.ListAsync());
            var unlocked = after.Achievements.Single(x => x.Id == "first_blood");
            Assert.IsTrue(unlocked.Unlocked);
            Assert.IsNotNull(unlocked.UnlockedAt);
            Assert.AreEqual(1, unlocked.Progress);
            Assert.Greater(unlocked.RarityPercent, 0);
            Assert.AreEqual(before.UnlockedCount + 1, after.UnlockedCount);
            Assert.AreEqual(before.PointsEarned + unlocked.Points, after.PointsEarned);
            Assert.GreaterOrEqual(Sync.RunResult(() => player.Stats.GetAsync()).Get("xp"), 50, "the reward");

            var inbox = Sync.RunResult(() => player.Notifications.ListAsync(10));
            Assert.GreaterOrEqual(inbox.UnreadCount, 1);
            var notice = inbox.Notifications.Single(n => n.Kind == "achievement_unlocked" && (string)n.Data["achievement_id"] == "first_blood");
            Assert.IsFalse(notice.Read);
            Assert.IsFalse(notice.Broadcast);
            StringAssert.Contains("First Blood", notice.Title);
            var unread = Sync.RunResult(() => player.Notifications.ListAsync(10, null, true));
            Assert.IsTrue(unread.Notifications.Any(n => n.Id == notice.Id) && unread.Notifications.All(n => !n.Read));

            var marked = Sync.RunResult(() => player.Notifications.MarkReadAsync(new[] { notice.Id }));
            Assert.AreEqual(1, marked.Marked);
            Assert.AreEqual(inbox.UnreadCount - 1, marked.UnreadCount);
            Assert.IsTrue(Sync.RunResult(() => player.Notifications.ListAsync(10)).Notifications.Single(n => n.Id == notice.Id).Read);
            Assert.IsFalse(Sync.RunResult(() => player.Notifications.ListAsync(10, null, true)).Notifications.Any(n => n.Id == notice.Id));
            Assert.AreEqual(0, Sync.RunResult(() => player.Notifications.MarkAllReadAsync()).UnreadCount);

            var deleted = Sync.RunResult(() => player.Notifications.DeleteAsync(notice.Id));
            Assert.AreEqual(notice.Id, deleted.Id);
            Assert.IsTrue(deleted.Deleted);
            Assert.IsFalse(Sync.RunResult(() => player.Notifications.ListAsync(10)).Notifications.Any(n => n.Id == notice.Id));
            Sync.Throws<NotFoundException>(() => player.Notifications.DeleteAsync(notice.Id));
            Sync.Throws<InvalidRequestException>(() => player.Notifications.MarkReadAsync(new string[0]));

            // Incremental progress reported by the client, unlocking at the target.
            var step = Sync.RunResult(() => player.Achievements.ReportProgressAsync("tutorial_graduate", 2));
            Assert.IsTrue(step.Applied);
            Assert.IsFalse(step.UnlockedNow);
            Assert.AreEqual(2, step.Achievement.Progress);
            Assert.AreEqual(5, step.Achievement.Target);
            var last = Sync.RunResult(() => player.Achievements.ReportProgressAsync("tutorial_graduate", 3));
            Assert.IsTrue(last.UnlockedNow);
            Assert.IsTrue(last.Achievement.Unlocked);
            var again = Sync.RunResult(() => player.Achievements.ReportProgressAsync("tutorial_graduate"));
            Assert.IsFalse(again.Applied, "already unlocked: nothing changes");
            Assert.IsFalse(again.UnlockedNow);
            Assert.IsTrue(Sync.RunResult(() => player.Notifications.ListAsync(10)).Notifications.Any(
                n => n.Kind == "achievement_unlocked" && (string)n.Data["achievement_id"] == "tutorial_graduate"));

            // Steps the server does not take from a client.
            Sync.Throws<ForbiddenException>(() => player.Achievements.ReportProgressAsync("tournament_champion"));
            Sync.Throws<NotFoundException>(() => player.Achievements.ReportProgressAsync("no_such_achievement"));
            Sync.Throws<InvalidRequestException>(() => player.Achievements.ReportProgressAsync("explorer", 0));
            Sync.Throws<InvalidRequestException>(() => player.Achievements.ReportProgressAsync("explorer", 2)); // more than its max step
        }

        [Test]
        public void ADeletedAccountIsReportedAndNoGuestIsCreatedBehindThePlayersBack()
        {
            Require("DELETE /players/me", "POST /auth/login");
            var device = new MemoryStore();
            var first = NewClient(device);
            Sync.Run(() => first.SignInAsGuestAsync());
            var kept = device.Get("gamebackend.credentials");
            Assert.IsNotNull(kept);
            Sync.Run(() => first.Players.DeleteAccountAsync());
            Assert.IsNull(device.Get("gamebackend.credentials"), "the deleting device forgets the account");

            // Another device (or a backup restored) still holds the deleted guest's credentials.
            var other = new MemoryStore();
            other.Set("gamebackend.credentials", kept);
            var recorder = new RecordingTransport(Http);
            var later = NewClient(other, recorder);
            var error = Sync.Throws<UnauthorizedException>(() => later.SignInAsGuestAsync());
            Assert.IsTrue(error is AccountDeletedException || error is SignInRequiredException, error.GetType().Name + " " + error.Code);
            Assert.IsTrue(later.State == AuthState.Deleted || later.State == AuthState.SignInRequired, later.State.ToString());
            CollectionAssert.AreEqual(new[] { "POST /auth/login" }, recorder.Calls, "no guest created silently");
            Assert.AreEqual(kept, other.Get("gamebackend.credentials"), "the credentials are left for the game to decide");
            Console.WriteLine("deleted account: " + error.GetType().Name + " (" + error.Code + "), state " + later.State);
        }

        [Test]
        public void StatWritesRetriedUnderOneIdempotencyKeyAreAccepted()
        {
            Require("POST /players/me/stats");
            // A server that documents the header replays the first answer: then the response may be lost
            // after the server applied the update and the retry must still count once.
            var honoured = _document.ToString().Contains(BackendClient.IdempotencyHeader);
            var recorder = new RecordingTransport(Http);
            var flaky = new FlakyTransport(recorder)
            {
                Matches = r => r.Method == "POST" && r.Url.EndsWith("/players/me/stats"),
                Failures = 1,
                LoseResponse = honoured,
            };
            var client = NewClient(null, flaky);
            client.Retries = new Backoff { Base = TimeSpan.FromMilliseconds(20), Max = TimeSpan.FromMilliseconds(50) };
            Sync.Run(() => client.SignInAsGuestAsync());
            var view = Sync.RunResult(() => client.Stats.UpdateAsync(new Dictionary<string, double> { { "kills", 1 } }));
            Assert.AreEqual(1, view.Get("kills"), "applied once");
            Assert.AreEqual(1, Sync.RunResult(() => client.Stats.GetAsync()).Get("kills"));
            var keys = recorder.Keys.Where((k, i) => recorder.Calls[i] == "POST /players/me/stats").ToList();
            Assert.AreEqual(honoured ? 2 : 1, keys.Count, "what reached the server");
            Assert.AreEqual(1, keys.Distinct().Count(), "the retry reused the call's key");
            Assert.IsNotNull(keys[0]);
            Console.WriteLine("idempotency key " + (honoured ? "honoured by the server: response lost and replayed" : "not documented by this server: failure before sending"));
        }
    }
}
