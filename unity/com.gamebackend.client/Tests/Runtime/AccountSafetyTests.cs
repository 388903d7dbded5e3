using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace GameBackend.Tests
{
    /// <summary>Sign-in is single-flight, refusals become clear states, and no guest is ever created behind the player's back.</summary>
    [TestFixture]
    public class AccountSafetyTests
    {
        private static string TokensJson(string id, int expiresIn, string refresh = "r1", string player = "p1")
        {
            return new JObject
            {
                { "player_id", player }, { "id_token", id }, { "access_token", "a" }, { "refresh_token", refresh },
                { "expires_in", expiresIn }, { "username", "guest-" + player }, { "password", "pw-" + player },
            }.ToString();
        }

        private static HttpResponseData Refused(int status, string code)
        {
            return FakeTransport.Answer(status, "{\"error\":\"refused\",\"code\":\"" + code + "\"}");
        }

        private static BackendClient Client(FakeTransport transport, MemoryStore device, FakeTime time = null)
        {
            return new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport, new KeyValueCredentialStore(device), time ?? new FakeTime());
        }

        [Test]
        public void ConcurrentSignInsOnANewDeviceCreateOneGuest()
        {
            var guests = 0;
            var transport = new FakeTransport(r =>
            {
                guests++;
                return FakeTransport.Answer(201, TokensJson("t1", 3600, "r1", "p" + guests));
            });
            var device = new MemoryStore();
            var client = Client(transport, device);
            var states = new List<AuthState>();
            client.AuthStateChanged += states.Add;
            // The manager signs in on Start while the game's own script signs in too, in the same frame.
            var ids = Sync.RunResult(() => Task.WhenAll(Enumerable.Range(0, 5).Select(i => client.SignInAsGuestAsync())));
            Assert.AreEqual(1, guests, "one account however many callers");
            CollectionAssert.AreEqual(new[] { "p1", "p1", "p1", "p1", "p1" }, ids);
            CollectionAssert.AreEqual(new[] { "POST /auth/guest" }, transport.Paths());
            CollectionAssert.AreEqual(new[] { AuthState.SigningIn, AuthState.SignedIn }, states);
            Assert.AreEqual("p1", Sync.RunResult(() => client.SignInAsGuestAsync()), "signed in: answered at once");
            Assert.AreEqual(1, transport.Requests.Count);
            StringAssert.Contains("guest-p1", device.Get("gamebackend.credentials"));
        }

        [Test]
        public void AGuestKeptInPlayerPrefsBeforeTheKeychainStoreIsTheSameAccountAfterIt()
        {
            // The previous version kept the guest in PlayerPrefs; this one keeps it in the Keychain or Keystore.
            var playerPrefs = new MemoryStore();
            new KeyValueCredentialStore(playerPrefs).Save(new StoredCredentials { Username = "guest-p1", Password = "pw-p1", PlayerId = "p1", IsGuest = true });
            var keychain = new MemoryStore();
            var transport = new FakeTransport(r => FakeTransport.Answer(r.Url.EndsWith("/auth/login") ? 200 : 201, TokensJson("t1", 3600, "r1", r.Url.EndsWith("/auth/login") ? "p1" : "p2")));
            var client = new BackendClient(new BackendOptions { BaseUrl = "http://x" }, transport,
                new KeyValueCredentialStore(new MigratingStore(keychain, playerPrefs)), new FakeTime());
            Assert.AreEqual("p1", Sync.RunResult(() => client.SignInAsGuestAsync()));
            CollectionAssert.AreEqual(new[] { "POST /auth/login" }, transport.Paths(), "the same guest signs in: no new account");
            Assert.IsNull(playerPrefs.Get("gamebackend.credentials"), "nothing left in the weaker store");
            StringAssert.Contains("guest-p1", keychain.Get("gamebackend.credentials"));

            // A crash between the copy and the delete leaves both: the next read finishes the move.
            playerPrefs.Set("gamebackend.credentials", keychain.Get("gamebackend.credentials"));
            var store = new MigratingStore(keychain, playerPrefs);
            StringAssert.Contains("guest-p1", store.Get("gamebackend.credentials"));
            Assert.IsNull(playerPrefs.Get("gamebackend.credentials"));
            store.Delete("gamebackend.credentials");
            Assert.IsNull(keychain.Get("gamebackend.credentials"));
        }

        [Test]
        public void ARefusedRefreshForAnUpgradedAccountAsksToSignInAgainAndCreatesNoGuest()
        {
            var device = new MemoryStore();
            new KeyValueCredentialStore(device).Save(new StoredCredentials { Username = "ann@example.com", PlayerId = "p1", IsGuest = false, RefreshToken = "revoked" });
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/refresh")
                ? Refused(401, "invalid_refresh_token")
                : FakeTransport.Answer(201, TokensJson("t9", 3600, "r9", "p9")));
            var client = Client(transport, device);
            var error = Sync.Throws<SignInRequiredException>(() => client.SignInAsGuestAsync());
            Assert.AreEqual("invalid_refresh_token", error.ServerReason);
            Assert.AreEqual(AuthState.SignInRequired, client.State);
            CollectionAssert.AreEqual(new[] { "POST /auth/refresh" }, transport.Paths(), "no /auth/guest: the player keeps their account");
            Assert.AreEqual("ann@example.com", new KeyValueCredentialStore(device).Load().Username, "the device still knows whose account it was");

            // A later call does not sneak a guest in either.
            Sync.Throws<SignInRequiredException>(() => client.Stats.GetAsync());
            Assert.AreEqual(1, transport.Requests.Count);
        }

        [Test]
        public void ASessionWhoseRefreshIsRefusedMidGameEndsInSignInRequired()
        {
            var time = new FakeTime();
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/login")) return FakeTransport.Answer(200, TokensJson("t1", 300, "r1"));
                if (r.Url.EndsWith("/auth/refresh")) return Refused(401, "invalid_refresh_token");
                return FakeTransport.Answer(200, "{\"player_id\":\"p1\",\"stats\":{}}");
            });
            var device = new MemoryStore();
            var client = Client(transport, device, time);
            Sync.Run(() => client.SignInAsync("ann@example.com", "secret-pw"));
            time.Now += TimeSpan.FromSeconds(290);
            Sync.Throws<SignInRequiredException>(() => client.Stats.GetAsync());
            Assert.AreEqual(AuthState.SignInRequired, client.State);
            Assert.IsFalse(client.IsSignedIn);
            CollectionAssert.AreEqual(new[] { "POST /auth/login", "POST /auth/refresh" }, transport.Paths());
            Assert.IsFalse(device.Get("gamebackend.credentials").Contains("secret-pw"), "an email account's password is never kept");
        }

        [Test]
        public void BannedAndDeletedAccountsAreClearStatesAndANewGuestIsOnlyTheGamesChoice()
        {
            foreach (var refusal in new[] { new { Status = 403, Code = "account_banned", State = AuthState.Banned }, new { Status = 401, Code = "account_deleted", State = AuthState.Deleted } })
            {
                var device = new MemoryStore();
                new KeyValueCredentialStore(device).Save(new StoredCredentials { Username = "guest-p1", Password = "pw", PlayerId = "p1", IsGuest = true });
                var status = refusal.Status;
                var code = refusal.Code;
                var transport = new FakeTransport(r => r.Url.EndsWith("/auth/login") ? Refused(status, code) : FakeTransport.Answer(201, TokensJson("t2", 3600, "r2", "p2")));
                var client = Client(transport, device);
                var error = Sync.Throws<BackendException>(() => client.SignInAsGuestAsync());
                Assert.AreEqual(code, error.Code);
                Assert.IsInstanceOf(refusal.Status == 403 ? typeof(AccountBannedException) : typeof(AccountDeletedException), error);
                Assert.AreEqual(refusal.State, client.State);
                CollectionAssert.AreEqual(new[] { "POST /auth/login" }, transport.Paths(), code + ": no guest created");

                // Only the game's explicit call starts over.
                Assert.AreEqual("p2", Sync.RunResult(() => client.StartOverAsNewGuestAsync()));
                CollectionAssert.AreEqual(new[] { "POST /auth/login", "POST /auth/guest" }, transport.Paths());
                Assert.AreEqual("p2", new KeyValueCredentialStore(device).Load().PlayerId);
            }
        }

        [Test]
        public void ACallRefusedForABannedAccountSignsOutWithTheBannedState()
        {
            var transport = new FakeTransport(r => r.Url.EndsWith("/auth/guest")
                ? FakeTransport.Answer(201, TokensJson("t1", 3600))
                : Refused(403, "account_banned"));
            var client = Client(transport, new MemoryStore());
            Sync.Run(() => client.SignInAsGuestAsync());
            Sync.Throws<AccountBannedException>(() => client.Stats.GetAsync());
            Assert.AreEqual(AuthState.Banned, client.State);
            Assert.IsFalse(client.IsSignedIn);
        }

        [Test]
        public void AnOfflineSignInIsRetriedAndNeverTurnsIntoAGuest()
        {
            var device = new MemoryStore();
            new KeyValueCredentialStore(device).Save(new StoredCredentials { Username = "guest-p1", Password = "pw", PlayerId = "p1", IsGuest = true });
            var logins = 0;
            var online = false;
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t9", 3600, "r9", "p9"));
                logins++;
                if (!online) throw new NetworkException("no connection");
                return logins % 3 == 0 ? FakeTransport.Answer(200, TokensJson("t1", 3600)) : FakeTransport.Answer(503, "{\"error\":\"busy\",\"code\":\"throttled\"}");
            });
            var time = new FakeTime();
            var client = Client(transport, device, time);
            Sync.Throws<NetworkException>(() => client.SignInAsGuestAsync());
            Assert.AreEqual(3, logins, "login is retried like a read");
            Assert.AreEqual(AuthState.SignedOut, client.State, "offline is not a refusal: the game can try again");
            Assert.IsNotNull(new KeyValueCredentialStore(device).Load());

            online = true;
            logins = 0;
            Assert.AreEqual("p1", Sync.RunResult(() => client.SignInAsGuestAsync()));
            Assert.AreEqual(3, logins, "two 503s, then signed in");
            Assert.IsFalse(transport.Paths().Contains("POST /auth/guest"));
        }

        [Test]
        public void ATokenOfADeletedAccountEndsInTheDeletedStateWithoutSigningInAgain()
        {
            var transport = new FakeTransport(r =>
            {
                if (r.Url.EndsWith("/auth/guest")) return FakeTransport.Answer(201, TokensJson("t1", 3600));
                return Refused(401, "account_deleted");  // the call, then the refresh
            });
            var client = Client(transport, new MemoryStore());
            Sync.Run(() => client.SignInAsGuestAsync());
            Sync.Throws<AccountDeletedException>(() => client.Stats.GetAsync());
            Assert.AreEqual(AuthState.Deleted, client.State);
            CollectionAssert.AreEqual(new[] { "POST /auth/guest", "GET /players/me/stats", "POST /auth/refresh" }, transport.Paths(),
                "no login with the kept password, no new guest");
        }

        [Test]
        public void UnreadableCredentialsAreNeverReplacedByAGuest()
        {
            var device = new MemoryStore();
            device.Set("gamebackend.credentials", "dpapi:c2VhbGVkIGVsc2V3aGVyZQ==");  // sealed by another machine's protector
            var transport = new FakeTransport(r => FakeTransport.Answer(201, TokensJson("t1", 3600)));
            var client = Client(transport, device);
            Sync.Throws<SignInRequiredException>(() => client.SignInAsGuestAsync());
            Assert.AreEqual(AuthState.SignInRequired, client.State);
            Assert.AreEqual(0, transport.Requests.Count);
            Assert.AreEqual("dpapi:c2VhbGVkIGVsc2V3aGVyZQ==", device.Get("gamebackend.credentials"), "left as found");
        }

        [Test]
        public void AProtectorSealsTheGuestPasswordAndOlderPlainCredentialsStillWork()
        {
            var device = new MemoryStore();
            device.Set("gamebackend.credentials", "{\"username\":\"guest-p1\",\"password\":\"pw-p1\",\"player_id\":\"p1\",\"is_guest\":true}");
            var store = new KeyValueCredentialStore(device, "gamebackend.credentials", new ReversingProtector());
            Assert.AreEqual("pw-p1", store.Load().Password, "written before the protector existed: still read");
            store.Save(store.Load());
            var kept = device.Get("gamebackend.credentials");
            StringAssert.StartsWith("test:", kept);
            Assert.IsFalse(kept.Contains("pw-p1"));
            Assert.AreEqual("pw-p1", store.Load().Password);
        }
    }
}
